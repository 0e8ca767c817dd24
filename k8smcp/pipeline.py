"""Pipes without a shell: ``get pods -A | grep CrashLoop | head -20``.

``split_pipeline`` takes the stages off a command before the CLI's policy sees it (so
the CLI part never holds a ``|``); ``policy.filters`` checks each stage; ``run_filters``
runs them one after the other through the executor, as the CLIs run: no shell, an
allowlisted environment, a private directory, the output cap, the call's timeout (at
most ``FILTER_TIMEOUT`` each), and limits on memory (``FILTER_MEMORY``) and on the size
of any file written (none). Each stage reads the whole output of the one before.

Secret redaction runs on the CLI's output, before the filters: a filter only ever sees
``<redacted>`` where a Secret's value was, so ``| jq .data`` or ``| grep`` cannot bring
one back, and a filter's output (no longer a Secret's shape) needs no parsing again.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import time
from typing import TYPE_CHECKING

from k8smcp.cmdline import split
from k8smcp.errors import BinaryNotFoundError, InvalidCommandError
from k8smcp.executor import TIMEOUT_EXIT_CODE, Executor, Invocation
from k8smcp.models import ToolResult, ran
from k8smcp.policy.hooks import Command

if TYPE_CHECKING:  # the filters' grammars load only for a command with a pipe
    from k8smcp.confine import Confinement
    from k8smcp.policy.filters import Filter

FILTER_TIMEOUT = 10.0  # seconds a filter may run, within the call's timeout
FILTER_MEMORY = 512 * 1024 * 1024  # address space of a filter (jq, sort, grep DFAs)
FILTER_LIMITS = (
    (resource.RLIMIT_AS, FILTER_MEMORY),
    (resource.RLIMIT_FSIZE, 0),  # writes nothing to a file, whatever its arguments
    (resource.RLIMIT_CORE, 0),
)
# The executor's notice at the end of a capped stdout: not part of the filters' input.
_CAP_NOTICE = re.compile(
    r"\n\[k8smcp: stdout truncated at \d+ bytes; \d+ more bytes dropped[^\]]*\]\n\Z"
)


def split_pipeline(command: str | list[str]) -> tuple[str | list[str], list[list[str]]]:
    """The CLI's part of ``command`` and the filter stages after it.

    A string is cut at each ``|`` outside quotes (``||`` and ``|&`` stay, for the shell
    rule to refuse), a list at each item that is exactly ``|``.

    >>> split_pipeline("get pods -A | grep -E 'Crash|Error' | wc -l")
    ('get pods -A ', [['grep', '-E', 'Crash|Error'], ['wc', '-l']])
    """
    if not isinstance(command, str):
        parts: list[list[str]] = [[]]
        for arg in command:
            if arg == "|":
                parts.append([])
            else:
                parts[-1].append(arg)
        return parts[0], parts[1:]
    segments = _split_unquoted(command)
    stages = []
    for segment in segments[1:]:
        try:
            stages.append(split(segment))  # linear, the same words as shlex.split
        except ValueError as exc:
            raise InvalidCommandError(
                f"pipe stage cannot be split: {exc} (check the quotes)"
            ) from exc
    return segments[0], stages


def _split_unquoted(command: str) -> list[str]:
    segments, start, quote, i, n = [], 0, "", 0, len(command)
    while i < n:
        ch = command[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            i += 1
        elif ch == "|":
            if command[i + 1 : i + 2] in ("|", "&") or command[i - 1 : i] == "|":
                i += 1
                continue
            segments.append(command[start:i])
            start = i + 1
        i += 1
    segments.append(command[start:])
    return segments


async def run_filters(
    executor: Executor,
    filters: list[Filter],
    cli: ToolResult,
    *,
    deadline: float,
    confined: bool = False,
) -> ToolResult:
    """Run ``filters`` on the CLI's (redacted) stdout and return the pipeline's result.

    ``confined``: each stage runs under Landlock as the CLIs do (k8smcp.confine), with no
    TCP at all and nothing to read beyond the system's files and its own binary.

    The exit code is the last non-zero one, as with ``set -o pipefail``; stderr gathers
    every stage's, with a note where a stage matched nothing or was killed.
    """
    argv = list(cli.argv)
    stderr = [cli.stderr] if cli.stderr else []
    exit_code = cli.exit_code
    truncated, timed_out = cli.truncated, cli.timed_out
    text, cut = _CAP_NOTICE.subn("\n", cli.stdout) if cli.truncated else (cli.stdout, 0)
    if cut:
        stderr.append(
            "[k8smcp: the command's output was cut at K8SMCP_MAX_OUTPUT_BYTES before the "
            "filters: narrow the command itself]\n"
        )
    started = time.monotonic()
    env = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
    for stage in filters:
        left = deadline - time.monotonic()
        if left <= 0 or timed_out:
            break
        binary = _binary(stage.name)
        done = await executor.execute(
            Invocation(
                argv=[binary, *stage.argv[1:]],
                env=env,
                stdin=text.encode(),
                timeout=min(FILTER_TIMEOUT, left),
                limits=FILTER_LIMITS,
                confinement=_confinement(binary) if confined else None,
            )
        )
        argv += ["|", *done.argv]
        text = done.stdout
        truncated = truncated or done.truncated
        timed_out = done.timed_out
        if done.stderr:
            stderr.append(done.stderr)
        code = done.exit_code
        if code < 0:
            stderr.append(
                f"[k8smcp: {stage.name} was killed by signal {-code}; a filter may "
                f"use {FILTER_MEMORY // 2**20} MiB and {FILTER_TIMEOUT:g}s: simplify it]\n"
            )
            code = 128 - code  # as a shell reports it
        elif code == 1 and stage.name == "grep" and not done.stderr:
            stderr.append("[k8smcp: grep matched no line (exit code 1)]\n")
        if code != 0:
            exit_code = TIMEOUT_EXIT_CODE if timed_out else code
    return ran(
        tool=cli.tool,
        argv=argv,
        exit_code=exit_code,
        stdout=text,
        stderr="".join(stderr),
        truncated=truncated,
        timed_out=timed_out,
        duration_ms=cli.duration_ms + int((time.monotonic() - started) * 1000),
    )


def _confinement(binary: str) -> Confinement:
    """A filter's confinement: no TCP, nothing to read beyond the system and ``binary``."""
    from k8smcp.confine import Confinement, binary_dirs  # imported only when confined

    return Confinement(writable=(), readable=binary_dirs(binary))


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BinaryNotFoundError(
            f"{name} is not installed, so `| {name}` cannot run: install it (Debian: "
            f"apt-get install {'jq' if name == 'jq' else 'coreutils grep'})",
            tool=name,
        )
    return os.path.abspath(found)


# What tells a command whose end matters (logs, events), per tool: command paths, and
# for `get`, resources. Data here rather than `if tool == ...` in the service.
_TAIL_PATHS = {
    "kubectl": (("logs",), ("events",), ("alpha", "events")),
    "argocd": (("app", "logs"),),
    "helm": (("history",),),
}
_TAIL_RESOURCES = ("ev", "event", "events", "events.events.k8s.io", "events.v1.events.k8s.io")


def keeps_end(command: Command) -> bool:
    """True for logs and events, whose last lines are the ones that matter."""
    parsed = command.parsed
    if parsed.path in _TAIL_PATHS.get(command.tool, ()):
        return True
    if parsed.path == ("get",) and parsed.positionals:
        return all(r.split("/")[0] in _TAIL_RESOURCES for r in parsed.positionals[0].split(","))
    return False


_NARROW = {
    "kubectl": "-l app=web, --field-selector status.phase!=Running, -o jsonpath='{...}', "
    "-o name, or a filter: | grep PATTERN, | jq '.items[].metadata.name', | head -n 20",
}
_NARROW_TAIL = "--tail=N or --since=10m, or a filter: | grep -i error | tail -n 50"
_NARROW_ANY = "-o json | jq '<path>', | grep PATTERN, | head -n 20"


def narrowing(tool: str, tail: bool) -> str:
    """How to ask this command for less, in a few words for the model."""
    return _NARROW_TAIL if tail else _NARROW.get(tool, _NARROW_ANY)
