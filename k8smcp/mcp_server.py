"""The MCP server: one tool per catalog entry, served over stdio or streamable HTTP.

Imported only by the commands that serve MCP: the SDK costs about half a second to import.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts import Prompt
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from k8smcp import __version__
from k8smcp.errors import K8sMcpError, error_body
from k8smcp.prompts import PROMPTS
from k8smcp.service import Service, ToolCall, ToolResult
from k8smcp.tools import TOOLS, ToolSpec

logger = logging.getLogger(__name__)

KUBECONFIG_HEADER = "x-kubeconfig"
READ_ONLY_NOTE = (
    "\n\nThis server is read-only: only commands that cannot change the cluster run "
    "(get, describe, logs, ...)."
)
PROGRESS_INTERVAL = 2.0  # seconds between progress notifications of a running command

INSTRUCTIONS = """k8smcp runs kubectl, helm, istioctl and argocd against a Kubernetes cluster.
Each tool takes `command`: the arguments after the binary's name, e.g. `get pods -n web`.
The cluster is the one of the kubeconfig: the X-Kubeconfig header of the HTTP connection,
the `kubeconfig` argument (base64), or the one the server was started with.
Manifests and values go in `stdin` (`apply -f -`). No shell runs: `|` pipes only into
grep, head, tail, wc, sort, uniq, cut and jq."""


class CommandResult(BaseModel):
    """What the command did. A non-zero exit_code is the CLI's own answer."""

    exit_code: int = Field(description="The CLI's exit code; 124 when it was killed on timeout")
    stdout: str
    stderr: str
    truncated: bool = Field(description="True when stdout or stderr went over the output cap")
    timed_out: bool
    duration_ms: int


ToolFn = Callable[..., Awaitable[CallToolResult]]


def build_server(service: Service) -> MCPServer:
    """An MCPServer with one tool for each CLI in the catalog."""
    server: MCPServer = MCPServer(
        "k8smcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",  # MCPServer configures root logging; keep it quiet
    )
    read_only = service.settings.policy.read_only
    annotations = (
        ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)
        if read_only
        else ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
    )
    rules = _rules(service)
    for spec in TOOLS.values():
        server.add_tool(
            _tool_function(service, spec),
            name=spec.name,
            title=spec.title,
            description=spec.description + rules,
            annotations=annotations,
        )
    for name, (title, fn) in PROMPTS.items():
        server.add_prompt(_prompt(name, title, fn))
    return server


def _rules(service: Service) -> str:
    """What every tool description adds about this server's own rules and limits."""
    settings = service.settings
    rules = [
        "No shell runs (no `;`, `>`, `$(...)`), but `|` pipes into grep, head, tail, wc, "
        "sort, uniq, cut and jq.",
        f"An answer shows at most `max_bytes` of stdout (default {settings.output_budget}, "
        f"at most {settings.max_output_budget}); a cut one says how to narrow the command "
        "or read on with `offset`.",
        "Manifests and values come inline: put them in `stdin` and use `-f -`.",
        f"A command's stdout and stderr are each capped at {settings.max_output_bytes} bytes "
        "(truncated=true says output was cut); commands are killed after `timeout` "
        f"seconds (default {settings.default_timeout:g}, at most {settings.max_timeout:g}).",
    ]
    if settings.mode == "server":
        rules.append(
            "Files on the server cannot be read: no -f PATH, no chart directories "
            "(use --repo URL), no flags that change the cluster or credentials."
        )
    if settings.redact_secrets:
        rules.append("Secret values in json/yaml output are replaced by <redacted>.")
    if settings.policy.read_only:
        rules.append(READ_ONLY_NOTE.strip())
    return "\n\nRules of this server:\n" + "\n".join(f"- {rule}" for rule in rules)


def _prompt(name: str, title: str, fn: Callable[..., str]) -> Prompt:
    return Prompt.from_function(fn, name=name, title=title, description=fn.__doc__)


def _tool_function(service: Service, spec: ToolSpec) -> ToolFn:
    max_timeout = service.settings.max_timeout
    budget = service.settings.output_budget
    max_budget = service.settings.max_output_budget

    async def run_tool(
        command: Annotated[
            str,
            Field(description=f"Arguments after `{spec.name}`, e.g. `{_example(spec)}`"),
        ],
        ctx: Context,
        namespace: Annotated[
            str | None, Field(description="Default namespace (an explicit -n wins)")
        ] = None,
        stdin: Annotated[
            str | None, Field(description="Text for the command's standard input (`-f -`)")
        ] = None,
        timeout: Annotated[
            float | None,
            Field(gt=0, le=max_timeout, description="Seconds before the command is killed"),
        ] = None,
        kubeconfig: Annotated[
            str | None,
            Field(description="Base64 kubeconfig; over HTTP prefer the X-Kubeconfig header"),
        ] = None,
        context: Annotated[
            str | None, Field(description="Kubeconfig context to use instead of the current one")
        ] = None,
        max_bytes: Annotated[
            int, Field(gt=0, le=max_budget, description="Most bytes of stdout to return")
        ] = budget,
        offset: Annotated[
            int | None,
            Field(ge=0, description="Read-only commands: the next part from this byte on"),
        ] = None,
    ) -> Annotated[CallToolResult, CommandResult]:
        headers = ctx.headers
        sent = headers.get(KUBECONFIG_HEADER) if headers else None
        request = ctx.request_context.request
        peer = getattr(request, "client", None)
        call = ToolCall(
            tool=spec.name,
            command=command,
            namespace=namespace,
            stdin=stdin,
            timeout=timeout,
            kubeconfig=sent or kubeconfig,
            context=context,
            client=peer.host if peer else "stdio",
            entry="mcp_http" if request is not None else "stdio",
            max_bytes=max_bytes,
            offset=offset,
        )
        work = service.call_tool(call)
        meta = ctx.request_context.meta
        try:
            if meta and meta.get("progress_token") is not None:
                result = await _with_progress(ctx, work)
            else:  # nobody to tell: no progress task and timer for this call
                result = await work
        except K8sMcpError as exc:
            return error_result(exc)
        return command_result(result)

    run_tool.__name__ = spec.name
    return run_tool


async def _with_progress(ctx: Context, work: Awaitable[ToolResult]) -> ToolResult:
    """Await ``work``, telling a client that asked for progress how long it has run."""
    started = time.monotonic()
    outcome: list[ToolResult] = []
    refused: list[K8sMcpError] = []

    async def run() -> None:
        try:
            outcome.append(await work)
        except K8sMcpError as exc:  # raised outside the task group, not as an ExceptionGroup
            refused.append(exc)
        finally:
            tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        while True:
            await anyio.sleep(PROGRESS_INTERVAL)
            elapsed = time.monotonic() - started
            await ctx.report_progress(elapsed, message=f"running for {elapsed:.0f}s")
    if refused:
        raise refused[0]
    return outcome[0]


def command_result(result: ToolResult) -> CallToolResult:
    """A command's result: structured, and readable as text; isError unless it exited 0."""
    structured = CommandResult(
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        truncated=result.truncated,
        timed_out=result.timed_out,
        duration_ms=result.duration_ms,
    )
    return CallToolResult(
        content=[TextContent(type="text", text=_text(result))],
        structured_content=structured.model_dump(),
        is_error=not result.ok,
    )


def error_result(exc: K8sMcpError) -> CallToolResult:
    """A refusal: what was wrong and what to do, for the model and for machines."""
    return CallToolResult(
        content=[TextContent(type="text", text=f"{exc.code}: {exc.message}")],
        structured_content=error_body(exc),
        is_error=True,
    )


def _text(result: ToolResult) -> str:
    if result.ok and not result.stderr:
        return result.stdout or "(no output)"
    parts = [f"exit_code: {result.exit_code}"]
    if result.stdout:
        parts.append(f"stdout:\n{result.stdout}")
    if result.stderr:
        parts.append(f"stderr:\n{result.stderr}")
    return "\n".join(parts)


def _example(spec: ToolSpec) -> str:
    return {
        "kubectl": "get pods -n default",
        "helm": "list -A",
        "istioctl": "analyze -n default",
    }.get(spec.name, "app list --core")
