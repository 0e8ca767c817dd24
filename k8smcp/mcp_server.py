"""The MCP server: one tool per installed CLI, served over stdio or streamable HTTP.

Built on the SDK's low-level ``Server``, so that k8smcp owns every answer: the input and
output schemas come from ``k8smcp.models``, bad arguments are told plainly (no validation
library's dump), an unknown tool or prompt is a -32602 protocol error, and a refusal is a
result that satisfies the same output schema as a command's result.

What a result carries, and where: the command's stdout is the first text block, verbatim
and once (a host shows it to the model; a 1 MiB answer is 1 MiB on the wire, not 2);
when the command failed or wrote to stderr, a second text block gives the exit code and
stderr. ``structuredContent`` holds everything else (exit code, stderr, truncated, timed
out, duration): the spec's advice to repeat it as JSON text is not followed, because the
text blocks already say it in the form a model reads best.

Imported only by the commands that serve MCP: the SDK costs about half a second to import.
"""

import hashlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import replace
from importlib.metadata import version as installed_version
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolRequestParams,
    CallToolResult,
    CancelledNotificationParams,
    ContentBlock,
    ErrorData,
    GetPromptRequestParams,
    GetPromptResult,
    JSONRPCError,
    ListPromptsResult,
    ListToolsResult,
    PaginatedRequestParams,
    Prompt,
    PromptArgument,
    PromptMessage,
    TextContent,
    Tool,
    ToolAnnotations,
)
from pydantic import TypeAdapter, ValidationError

from k8smcp import __version__
from k8smcp.errors import BinaryNotFoundError, InvalidRequestError, K8sMcpError, error_body
from k8smcp.models import ErrorBody, ToolRequest, ToolResult, describe_problems
from k8smcp.prompts import PROMPTS, PromptSpec
from k8smcp.service import Service, ToolCall
from k8smcp.tools import TOOLS, ToolSpec

logger = logging.getLogger(__name__)

KUBECONFIG_HEADER = "x-kubeconfig"
PROGRESS_INTERVAL = 2.0  # seconds between progress notifications of a running command
REQUEST_CANCELLED = -32800  # what the SDK answers a cancelled request with on the 2025 wire

_REQUEST = TypeAdapter(ToolRequest)
_ARGUMENTS = ", ".join(_REQUEST.json_schema()["properties"])


def request_schema() -> dict[str, Any]:
    """The MCP input schema: ``ToolRequest``'s, without the per-field titles."""
    schema = _REQUEST.json_schema()
    for prop in schema["properties"].values():
        prop.pop("title", None)
        prop.pop("default", None)
    return schema


def result_schema() -> dict[str, Any]:
    """The MCP output schema: a ToolResult without stdout (the text), or an ErrorBody.

    One object schema that both satisfy (only ``ok`` is required), so that clients that
    check structuredContent against it (TypeScript SDK 1.x, the Inspector) accept a
    refusal as they accept a command's result.
    """
    result = TypeAdapter(ToolResult).json_schema(mode="serialization")
    refusal = TypeAdapter(ErrorBody).json_schema(mode="serialization")
    properties = {**result["properties"], **refusal["properties"]}
    properties.pop("stdout")
    properties["ok"] = {"type": "boolean", "description": "True when the command exited 0"}
    for prop in properties.values():
        prop.pop("title", None)
        prop.pop("default", None)
    return {
        "type": "object",
        "description": "How the command ended (its stdout is the first text block), "
        "or why k8smcp refused it (error, detail).",
        "properties": properties,
        "required": ["ok"],
    }


class McpServer:
    """The MCP server of one Service: ``run_stdio_async`` or ``streamable_http_app``."""

    def __init__(self, service: Service, *, http: bool) -> None:
        self.service = service
        self.http = http
        self.tools = installed_tools(service)
        self.prompts = {p.name: p for p in PROMPTS if set(p.tools) <= set(self.tools)}
        self._in_flight: dict[tuple[str, str], anyio.CancelScope] = {}
        self._listed = self._list_tools()
        self.server: Server[Any] = Server(
            "k8smcp",
            version=__version__,
            instructions=instructions(service, list(self.tools), http=http),
            on_list_tools=self._on_list_tools,
            on_call_tool=self._on_call_tool,
            on_list_prompts=self._on_list_prompts,
            on_get_prompt=self._on_get_prompt,
        )
        # The SDK cancels a call whose notifications/cancelled comes on its own
        # connection; over stateless HTTP it comes on another POST, so we do it too.
        self.server.add_notification_handler(
            "notifications/cancelled", CancelledNotificationParams, self._on_cancelled
        )

    @property
    def session_manager(self) -> Any:
        """The SDK's streamable-HTTP session manager (after ``streamable_http_app``)."""
        return self.server.session_manager

    def streamable_http_app(self, **options: Any) -> Any:
        """The SDK's Starlette app for /mcp."""
        return self.server.streamable_http_app(**options)

    async def run_stdio_async(self) -> None:
        """Serve one client on stdin/stdout until it closes them."""
        async with stdio_server() as (read, write):
            if _SDK_DROPS_BAD_LINES:
                read = _AnswerBadLines(read, write)
            await self.server.run(read, write, self.server.create_initialization_options())

    # tools

    def _list_tools(self) -> ListToolsResult:
        settings = self.service.settings
        read_only = settings.policy.read_only
        annotations = ToolAnnotations(
            read_only_hint=read_only, destructive_hint=not read_only, open_world_hint=True
        )
        rules = _rules(self.service)
        inputs, outputs = request_schema(), result_schema()
        return ListToolsResult(
            tools=[
                Tool(
                    name=spec.name,
                    title=spec.title,
                    description=spec.description + rules,
                    input_schema=inputs,
                    output_schema=outputs,
                    annotations=annotations,
                )
                for spec in self.tools.values()
            ]
        )

    async def _on_list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return self._listed

    async def _on_call_tool(
        self, ctx: ServerRequestContext[Any], params: CallToolRequestParams
    ) -> CallToolResult:
        spec = self.tools.get(params.name)
        if spec is None:
            missing = " is not installed on this server" if params.name in TOOLS else ""
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown tool: {params.name}{missing}; the tools are {', '.join(self.tools)}",
            )
        try:
            request = _REQUEST.validate_python(params.arguments or {})
        except ValidationError as exc:
            problems = describe_problems(exc.errors(include_url=False, include_input=False))
            message = f"invalid arguments: {problems} (the arguments are {_ARGUMENTS})"
            return error_result(InvalidRequestError(message))
        http_request = ctx.request
        if http_request is None:
            call = ToolCall.of(spec.name, request, header=None, client="stdio", entry="stdio")
        else:
            sent = http_request.headers.get(KUBECONFIG_HEADER)
            peer = http_request.client.host if http_request.client else "-"
            call = ToolCall.of(spec.name, request, header=sent, client=peer, entry="mcp_http")
        if call.max_bytes is None:  # a model reads every byte: MCP answers have a budget
            call = replace(call, max_bytes=self.service.settings.output_budget)
        key = (_caller(ctx), str(ctx.request_id))
        with anyio.CancelScope() as scope:
            self._in_flight[key] = scope
            try:
                result = await self._run(ctx, self.service.call_tool(call))
            except K8sMcpError as exc:
                return error_result(exc)
            finally:
                if self._in_flight.get(key) is scope:
                    del self._in_flight[key]
        if scope.cancelled_caught:  # by a notifications/cancelled that came on another POST
            raise MCPError(REQUEST_CANCELLED, "Request cancelled")
        return command_result(result)

    async def _run(self, ctx: ServerRequestContext[Any], work: Awaitable[ToolResult]) -> ToolResult:
        meta = ctx.meta
        if meta and meta.get("progress_token") is not None:
            return await _with_progress(ctx, work)
        return await work  # nobody to tell: no progress task and timer for this call

    async def _on_cancelled(
        self, ctx: ServerRequestContext[Any], params: CancelledNotificationParams
    ) -> None:
        scope = self._in_flight.get((_caller(ctx), str(params.request_id)))
        if scope is not None:  # only the same caller's call: a cancel names no one else's
            scope.cancel()

    # prompts

    async def _on_list_prompts(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListPromptsResult:
        return ListPromptsResult(prompts=[_prompt(p) for p in self.prompts.values()])

    async def _on_get_prompt(
        self, ctx: ServerRequestContext[Any], params: GetPromptRequestParams
    ) -> GetPromptResult:
        spec = self.prompts.get(params.name)
        if spec is None:
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown prompt: {params.name}; the prompts are {', '.join(self.prompts)}",
            )
        arguments = params.arguments or {}
        missing = [name for name in spec.required if not arguments.get(name)]
        unknown = sorted(set(arguments) - set(spec.arguments))
        if missing or unknown:
            problems = [f"missing required argument {name!r}" for name in missing]
            problems += [f"unknown argument {name!r}" for name in unknown]
            raise MCPError(
                INVALID_PARAMS,
                f"prompt {spec.name}: {'; '.join(problems)} "
                f"(its arguments are {', '.join(spec.arguments)})",
            )
        text = spec.render(**arguments)
        return GetPromptResult(
            description=spec.description,
            messages=[PromptMessage(role="user", content=TextContent(type="text", text=text))],
        )


def build_server(service: Service, *, http: bool = False) -> McpServer:
    """The MCP server for ``service``: over stdio, or mounted at /mcp when ``http``."""
    return McpServer(service, http=http)


def installed_tools(service: Service) -> dict[str, ToolSpec]:
    """The catalog's tools whose binaries are found: the only ones listed."""
    found = {}
    for name, spec in TOOLS.items():
        try:
            spec.resolve_binary(service.settings.binaries)
        except BinaryNotFoundError:
            logger.info("%s is not installed: its MCP tool is not listed", name)
            continue
        found[name] = spec
    return found


def instructions(service: Service, tools: list[str], *, http: bool) -> str:
    """What the model is told about this server, true for how it runs."""
    settings = service.settings
    lines = [
        f"k8smcp runs {', '.join(tools) or 'no CLI (none is installed)'} against a "
        "Kubernetes cluster. Each tool takes `command`: the arguments after the binary's "
        "name, e.g. `get pods -n web`. Manifests and values go in `stdin` (`apply -f -`); "
        "no shell runs, but `|` pipes into grep, head, tail, wc, sort, uniq, cut and jq."
    ]
    if http:
        where = "the kubeconfig the MCP client sends in its X-Kubeconfig header"
        if settings.allow_default_kubeconfig and settings.default_kubeconfig is not None:
            where += ", or the server's own when it sends none"
        lines.append(f"The cluster is the one of {where}.")
    elif settings.default_kubeconfig is not None:
        lines.append("The cluster is the one of the kubeconfig k8smcp was started with.")
    else:
        lines.append(
            "k8smcp was started without a kubeconfig: cluster commands are refused until "
            "the user configures one and restarts it."
        )
    if settings.policy.read_only:
        lines.append("Read-only: only commands that cannot change the cluster run.")
    return "\n".join(lines)


def _rules(service: Service) -> str:
    """What every tool description adds about this server's own rules and limits."""
    settings = service.settings
    policy = settings.policy
    rules = [
        "No shell runs (no `;`, `>`, `$(...)`), but `|` pipes into grep, head, tail, wc, "
        "sort, uniq, cut and jq.",
        f"An answer shows at most `max_bytes` of stdout (default {settings.output_budget}, "
        f"at most {settings.max_output_budget}); a cut one says how to narrow the command "
        "or read on with `offset`.",
        "Manifests and values come inline: put them in `stdin` and use `-f -`.",
        "The result's text is the command's stdout; if it failed or wrote to stderr, a "
        "second text gives exit_code and stderr. A non-zero exit code is the CLI's own "
        "answer (NotFound, Forbidden, differences found) and marks the result as an error.",
        f"stdout and stderr are each capped at {settings.max_output_bytes} bytes "
        "(truncated=true says output was cut); commands are killed after `timeout` "
        f"seconds (default {settings.default_timeout:g}, at most {settings.max_timeout:g}).",
    ]
    if not policy.allow_local_files:
        rules.append(
            "Files on the server cannot be read: no -f PATH, no chart directories (use --repo URL)."
        )
    if policy.is_server:
        rules.append("Flags that change the cluster's address or the credentials are refused.")
    if settings.policy.redact_secrets:
        rules.append("Secret values in json/yaml output are replaced by <redacted>.")
    if policy.read_only:
        rules.append(
            "This server is read-only: only commands that cannot change the cluster run "
            "(get, describe, logs, ...)."
        )
    return "\n\nRules of this server:\n" + "\n".join(f"- {rule}" for rule in rules)


def _prompt(spec: PromptSpec) -> Prompt:
    required = spec.required
    return Prompt(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        arguments=[
            PromptArgument(name=name, description=text, required=name in required)
            for name, text in spec.arguments.items()
        ],
    )


def _caller(ctx: ServerRequestContext[Any]) -> str:
    """Who sent a message: the bearer token's digest, else the peer's address; "stdio"."""
    request = ctx.request
    if request is None:
        return "stdio"
    token = request.headers.get("authorization")
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    peer = getattr(request, "client", None)
    return f"peer:{peer.host if peer else '-'}"


async def _with_progress(ctx: ServerRequestContext[Any], work: Awaitable[ToolResult]) -> ToolResult:
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
            await ctx.session.report_progress(elapsed, message=f"running for {elapsed:.0f}s")
    if refused:
        raise refused[0]
    return outcome[0]


def command_result(result: ToolResult) -> CallToolResult:
    """A command's result: stdout as the text, the rest structured; isError unless ok."""
    structured = result.to_dict()
    del structured["stdout"]  # sent once, as the first text block
    content: list[ContentBlock] = [TextContent(type="text", text=result.stdout)]
    if not result.ok or result.stderr:
        content.append(TextContent(type="text", text=_status(result)))
    return CallToolResult(content=content, structured_content=structured, is_error=not result.ok)


def error_result(exc: K8sMcpError) -> CallToolResult:
    """A refusal: what was wrong and what to do, for the model and for machines."""
    return CallToolResult(
        content=[TextContent(type="text", text=f"{exc.code}: {exc.message}")],
        structured_content=error_body(exc),
        is_error=True,
    )


def _status(result: ToolResult) -> str:
    head = f"exit_code: {result.exit_code}" + (" (timed out)" if result.timed_out else "")
    return f"{head}\nstderr:\n{result.stderr}" if result.stderr else head


# mcp 2.3 servers log a stdio line that is not JSON-RPC at debug level and answer nothing
# (the dispatcher's on_stream_exception is unset on the server side); JSON-RPC asks for
# -32700. tests/conformance/test_protocol_edges.py fails if the SDK starts answering too.
_SDK_DROPS_BAD_LINES = installed_version("mcp").startswith("2.")


class _AnswerBadLines:
    """The stdio read stream, answering each line that is not JSON-RPC with an error."""

    def __init__(self, inner: Any, write: Any) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> Any:
        """The sender's context of the last message (the SDK's context streams)."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        """The next message; a bad line is answered here and skipped."""
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            invalid_json = isinstance(item, ValidationError) and any(
                e["type"] == "json_invalid" for e in item.errors()
            )
            code, message = (
                (PARSE_ERROR, "Parse error: the line is not JSON")
                if invalid_json
                else (INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
            )
            error = JSONRPCError(
                jsonrpc="2.0", id=None, error=ErrorData(code=code, message=message)
            )
            await self._write.send(SessionMessage(error))

    def __aiter__(self) -> "_AnswerBadLines":
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Close the stream underneath."""
        self._inner.close()

    async def aclose(self) -> None:
        """Close the stream underneath."""
        await self._inner.aclose()

    async def __aenter__(self) -> "_AnswerBadLines":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
