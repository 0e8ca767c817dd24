"""The request and the result of one tool call, the one home of their fields.

They are the REST body and response (``http_app``), the MCP input and output schemas
(``mcp_server``), what ``k8smcp call`` checks an answer against (``client``), what the
executor and the service return and what the CLI prints. A leaf: standard library only.

Plain frozen dataclasses, so that ``k8smcp run`` never imports pydantic; FastAPI and the
MCP server read them through pydantic, which takes ``__pydantic_config__`` from each:
unknown fields are refused and each attribute's docstring becomes its description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_SCHEMA_CONFIG = {"extra": "forbid", "use_attribute_docstrings": True}


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolRequest:
    """One command to run with one tool."""

    __pydantic_config__ = _SCHEMA_CONFIG

    command: str
    """Arguments after the binary's name, split like a POSIX shell (no shell runs)."""
    namespace: str | None = None
    """Default namespace; an explicit -n in the command wins."""
    stdin: str | None = None
    """Text for the command's standard input, e.g. a manifest for `-f -`."""
    timeout: float | None = None
    """Seconds before the command is killed."""
    kubeconfig: str | None = None
    """Base64 kubeconfig, for callers that cannot send the X-Kubeconfig header."""
    context: str | None = None
    """Kubeconfig context to use instead of its current one."""
    max_bytes: int | None = None
    """Most bytes of stdout to return; over MCP the server's budget unless set."""
    offset: int | None = None
    """Read-only commands: the next part of a cut answer, from this byte of stdout on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """What a command did; it ran, whatever its exit code (REST answers 200)."""

    __pydantic_config__ = _SCHEMA_CONFIG

    ok: bool
    """True when the command exited 0 within its timeout."""
    tool: str
    """The tool that ran."""
    argv: list[str]
    """The command as run, credentials redacted."""
    exit_code: int
    """The CLI's own exit code; 124 when it was killed on timeout."""
    stdout: str
    """Standard output. Over MCP it is the first text block instead, sent once."""
    stderr: str
    """Standard error."""
    truncated: bool
    """True when stdout or stderr went over the output cap and was cut."""
    timed_out: bool
    """True when the command was killed on timeout."""
    duration_ms: int
    """How long the command ran, in milliseconds."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, ``ok`` first."""
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBody:
    """A call k8smcp refused: what was wrong and what to do (``errors.error_body``)."""

    __pydantic_config__ = {"use_attribute_docstrings": True}  # extra: the error's details

    ok: bool = False
    """Always false."""
    error: str
    """A stable code: denied, invalid_kubeconfig, binary_not_found, ..."""
    detail: str
    """What was wrong and what to do next."""
    status: int
    """The HTTP status the REST API answers this refusal with."""


@dataclass(frozen=True, slots=True)
class ToolStatus:
    """A tool of the catalog: whether its binary is installed here, and its version."""

    __pydantic_config__ = {"use_attribute_docstrings": True}

    tool: str
    available: bool
    path: str | None
    version: str | None
    detail: str | None = None
    source: str | None = None
    """Why this binary: K8SMCP_<TOOL>_BIN, beside k8smcp, or PATH."""


def describe_problems(errors: Sequence[Mapping[str, Any]], ignore: tuple[str, ...] = ()) -> str:
    """A validation's errors in one line, which field and what is wrong: never a dump.

    ``errors`` is pydantic's ``ValidationError.errors()``; ``ignore`` drops location parts
    (FastAPI's ``body``).
    """
    problems = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ignore) or "body"
        kind = err.get("type")
        if kind in ("unexpected_keyword_argument", "extra_forbidden"):
            problems.append(f"{where}: unknown argument")
        elif kind == "missing":
            problems.append(f"{where}: required")
        else:
            problems.append(f"{where}: {str(err.get('msg', 'invalid')).lower()}")
    return "; ".join(problems)


def ran(*, tool: str, argv: list[str], exit_code: int, timed_out: bool, **rest: Any) -> ToolResult:
    """A ToolResult, with ``ok`` worked out from the exit code and the timeout."""
    return ToolResult(
        ok=exit_code == 0 and not timed_out,
        tool=tool,
        argv=argv,
        exit_code=exit_code,
        timed_out=timed_out,
        **rest,
    )
