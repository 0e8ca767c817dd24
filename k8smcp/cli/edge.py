"""Where a command meets the core, without Typer: errors to exit codes, the event loop, output.

A command ends by raising ``SystemExit`` with its exit code; under Typer that is what
``typer.Exit`` becomes too, so ``run`` and ``call`` end the same way whether Typer or
``k8smcp.cli.fast`` parsed them.
"""

import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from k8smcp import speedups
from k8smcp.errors import K8sMcpError

T = TypeVar("T")


def guard(fn: Callable[[], T], *, as_json: bool = False) -> T:
    """Run ``fn``: a K8sMcpError becomes one line on stderr and its exit code."""
    try:
        return fn()
    except K8sMcpError as exc:
        from k8smcp.output import print_error  # rich loads only when there is an error

        print_error(exc, as_json=as_json)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def run_async(fn: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run ``fn`` in an asyncio event loop, once the command's imports are done.

    The event loop's own imports are done when its first task runs: the command's work
    begins there (``speedups.work_begins``). A plain ``asyncio.run``: the core is written
    for asyncio, and the libraries that use anyio (the MCP SDK, httpx) run on it as on
    ``anyio.run``; ``run`` never imports anyio's backend (~25 ms).
    """
    import asyncio

    async def work() -> T:
        speedups.work_begins()
        return await fn()

    return guard(lambda: asyncio.run(work()), as_json=as_json)


def finish(result: Any, json_out: bool) -> NoReturn:
    """Print a command's result and exit with its exit code."""
    from k8smcp.output import print_json, print_result

    if json_out:
        print_json(result.to_dict())
    else:
        print_result(result)
    raise SystemExit(result.exit_code)


def wants_stdin(args: list[str]) -> bool:
    """Whether the tool's arguments read standard input (``-f -``, ``--values=-``)."""
    return any(a == "-" or a.endswith("=-") for a in args)


def read_stdin(args: list[str]) -> str | None:
    """Standard input, when the tool's arguments ask for it."""
    return sys.stdin.read() if wants_stdin(args) else None
