"""The Typer app and what every command shares: errors to exit codes, the event loop, output."""

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
import typer

from k8smcp import __version__, speedups
from k8smcp.errors import K8sMcpError

T = TypeVar("T")

app = typer.Typer(
    name="k8smcp",
    help="Run kubectl, helm, istioctl and argocd against any cluster: over MCP (stdio or "
    "HTTP), REST, or straight from the terminal. The kubeconfig travels with each call.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

# `run` and `call`: k8smcp's options before the tool's name, the tool's own after it
PASSTHROUGH = {"allow_interspersed_args": False, "ignore_unknown_options": True}

JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
LogLevel = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_LOG_LEVEL",
        help="debug, info, warning or error (logs go to stderr).",
    ),
]
LogFormat = Annotated[
    Literal["text", "json"],
    typer.Option(
        envvar="K8SMCP_LOG_FORMAT",
        help="text (for people) or json (one object a line, for log pipelines).",
    ),
]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"k8smcp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Run Kubernetes CLIs for LLM agents, people and scripts."""


def guard(fn: Callable[[], T], *, as_json: bool = False) -> T:
    """Run ``fn``: a K8sMcpError becomes one line on stderr and its exit code."""
    try:
        return fn()
    except K8sMcpError as exc:
        from k8smcp.output import print_error  # rich loads only when there is an error

        print_error(exc, as_json=as_json)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def run_async(fn: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run ``fn`` in an event loop, once the command's imports are done."""
    speedups.work_begins()
    return guard(lambda: anyio.run(fn), as_json=as_json)


def finish(result: Any, json_out: bool) -> None:
    """Print a command's result and exit with its exit code."""
    from k8smcp.output import print_json, print_result

    if json_out:
        print_json(result.to_dict())
    else:
        print_result(result)
    raise typer.Exit(result.exit_code)


def wants_stdin(args: list[str]) -> bool:
    """Whether the tool's arguments read standard input (``-f -``, ``--values=-``)."""
    return any(a == "-" or a.endswith("=-") for a in args)


def read_stdin(args: list[str]) -> str | None:
    """Standard input, when the tool's arguments ask for it."""
    return sys.stdin.read() if wants_stdin(args) else None
