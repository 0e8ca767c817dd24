"""The HTTP server: REST routes per tool, /health, OpenAPI docs, and MCP at /mcp.

Imported only by ``k8smcp serve`` (and tests): FastAPI and the MCP SDK are slow imports.
"""

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8smcp import __version__, speedups
from k8smcp.config import Settings, is_loopback
from k8smcp.errors import (
    AuthenticationError,
    ForbiddenOriginError,
    InvalidRequestError,
    K8sMcpError,
    MisdirectedRequestError,
    RequestTooLargeError,
    UnknownToolError,
    error_body,
)
from k8smcp.mcp_server import build_server
from k8smcp.metrics import Metrics
from k8smcp.models import ErrorBody, ToolRequest, ToolResult, ToolStatus, describe_problems
from k8smcp.service import Service, ToolCall
from k8smcp.tools import TOOLS, ToolSpec

logger = logging.getLogger(__name__)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 413, 429, 503)
}


def build_app(service: Service) -> FastAPI:
    """The whole HTTP application for ``service``. Build a fresh one per server run."""
    settings = service.settings
    speedups.fast_sse_line_breaks()
    mcp = build_server(service, http=True)
    security = _transport_security(settings)
    mcp_app = mcp.streamable_http_app(
        stateless_http=True,  # any replica can serve any call
        json_response=False,  # SSE keeps progress notifications and cancellation working
        transport_security=security,
        host=settings.host,
        max_request_body_size=settings.max_body_bytes,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield
        await service.aclose()  # after the last call: uvicorn ends on a signal, skipping atexit

    app = FastAPI(
        title="k8smcp",
        version=__version__,
        description="Run kubectl, helm, istioctl and argocd against the cluster of the "
        "kubeconfig sent with each request (X-Kubeconfig header, base64). MCP is at /mcp.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(McpEdges)
    # added last, so it runs first: nothing is read before the caller is known
    app.add_middleware(Guard, tokens=settings.auth_tokens, security=security)

    @app.exception_handler(K8sMcpError)
    async def on_error(request: Request, exc: K8sMcpError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = describe_problems(exc.errors(), ignore=("body",))
        return await on_error(request, InvalidRequestError(f"invalid request body: {problems}"))

    @app.get("/metrics", tags=["server"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: calls by tool, entry point and outcome, durations, denials."""
        observer = service.observer
        if not isinstance(observer, Metrics):
            return Response(status_code=404)
        return Response(observer.exposition(), media_type=observer.content_type)

    @app.get("/health", tags=["server"])
    async def health() -> dict[str, str]:
        """Liveness and readiness: answers as soon as the server is up."""
        return {"status": "ok", "version": __version__}

    catalog: list[ToolStatus] = []

    @app.get("/tools", tags=["tools"], response_model=list[ToolStatus])
    async def list_tools() -> list[ToolStatus]:
        """The tools, whether their binaries are installed, and their versions."""
        if not catalog:
            found = await service.catalog()
            if not catalog:  # two first requests both looked: the first to get here fills it
                catalog.extend(found)
        return catalog

    for spec in TOOLS.values():
        app.add_api_route(
            f"/tools/{spec.name}",
            _rest_endpoint(service, spec),
            methods=["POST"],
            response_model=ToolResult,
            responses=_ERRORS,
            tags=["tools"],
            summary=f"Run {spec.name}",
            description=spec.description,
            name=f"run_{spec.name}",
        )

    @app.post("/tools/{tool}", include_in_schema=False)
    async def unknown_tool(tool: str) -> None:
        raise UnknownToolError(f"unknown tool {tool!r}: the tools are {', '.join(TOOLS)}")

    app.mount("/", mcp_app)  # last: routes added after a root mount are unreachable
    return app


def _rest_endpoint(service: Service, spec: ToolSpec) -> Callable[..., Awaitable[Response]]:
    async def run(
        body: ToolRequest,
        request: Request,
        x_kubeconfig: Annotated[str | None, Header(description="Base64 kubeconfig")] = None,
    ) -> Response:
        peer = request.client.host if request.client else "-"
        call = ToolCall.of(spec.name, body, header=x_kubeconfig, client=peer, entry="rest")
        result = await service.call_tool(call)
        # Already the ToolResult shape (response_model documents it): sent as it is,
        # not validated and serialized again, which a 2 MB stdout would pay twice.
        return Response(json.dumps(result.to_dict()), media_type="application/json")

    return run


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host/Origin allowlists against DNS rebinding, for /mcp (the SDK) and /tools (Guard).

    Default: loopback names on any port. A server bound beyond loopback with no list
    configured checks nothing (it must have auth; the Kubernetes chart sets the list).
    """
    hosts = list(settings.allowed_hosts)
    origins = list(settings.allowed_origins)
    if "*" in hosts or (not hosts and not is_loopback(settings.host)):
        if not hosts:
            logger.warning(
                "listening on %s with no K8SMCP_ALLOWED_HOSTS: Host/Origin checks are off",
                settings.host,
            )
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if not hosts:
        hosts = [*LOOPBACK_NAMES, *(f"{name}:*" for name in LOOPBACK_NAMES)]
    if not origins:
        origins = [f"http://{name}:*" for name in LOOPBACK_NAMES]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


def _allowed(value: str, patterns: list[str]) -> bool:
    """Whether a Host or Origin matches an entry: exact, or ``name:*`` for any port."""
    for pattern in patterns:
        if value == pattern:
            return True
        if pattern.endswith(":*") and value.rsplit(":", 1)[0] == pattern[:-2]:
            return True
    return False


class Guard:
    """Pure ASGI middleware for /mcp and /tools: bearer auth, then Host/Origin for /tools.

    Tokens are compared in constant time. /health, /docs and /openapi.json stay open.
    The SDK checks Host/Origin for /mcp itself, with the same allowlists.
    """

    def __init__(
        self, app: ASGIApp, tokens: tuple[str, ...], security: TransportSecuritySettings
    ) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request (401, 421, 403) or hand it on."""
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/mcp" or path.startswith(("/mcp/", "/tools"))):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if self.tokens and not self._authorized(headers.get("authorization", b"")):
            await _send_error(
                send,
                AuthenticationError("a valid bearer token is required (Authorization: Bearer ...)"),
                [(b"www-authenticate", b'Bearer realm="k8smcp"')],
            )
            return
        if path.startswith("/tools") and self.security.enable_dns_rebinding_protection:
            host = headers.get("host", b"").decode("latin-1")
            origin = headers.get("origin", b"").decode("latin-1")
            if not _allowed(host, self.security.allowed_hosts):
                await _send_error(send, MisdirectedRequestError("Host header not allowed"))
                return
            if origin and not _allowed(origin, self.security.allowed_origins):
                await _send_error(send, ForbiddenOriginError("Origin header not allowed"))
                return
        await self.app(scope, receive, send)

    def _authorized(self, header: bytes) -> bool:
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            return False
        # compare against every token, so timing does not tell which one nearly matched
        matches = [hmac.compare_digest(token.strip(), known) for known in self.tokens]
        return any(matches)


async def _send_error(
    send: Send, exc: K8sMcpError, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error_body(exc)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Pure ASGI middleware: 413 for REST bodies over the cap, counted as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer a /tools/ body up to the cap, then hand it on (or answer 413)."""
        if scope["type"] != "http" or not scope["path"].startswith("/tools/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _send_error(
            send,
            RequestTooLargeError(
                f"request body is larger than {self.max_bytes} bytes (K8SMCP_MAX_BODY_BYTES)"
            ),
        )


_POST_ONLY = [(b"allow", b"POST")]


class McpEdges:
    """Pure ASGI middleware: the HTTP answers the SDK leaves vague at /mcp.

    The server is stateless, so GET (a stream nothing could ever be sent on) and DELETE
    (no session to end) are 405 with ``Allow: POST``; a POST whose Content-Type is not
    JSON is 415 (the SDK answers a plain-text 400). Bodies are JSON-RPC errors.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer GET, DELETE and non-JSON POSTs to /mcp; hand everything else on."""
        if scope["type"] != "http" or scope.get("path") not in ("/mcp", "/mcp/"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method in ("GET", "DELETE"):
            await _send_rpc_error(
                send,
                405,
                f"{method} is not served: this server is stateless; POST JSON-RPC messages to /mcp",
                _POST_ONLY,
            )
            return
        if method == "POST":
            ctype = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if ctype.split(";")[0].strip().lower() != "application/json":
                await _send_rpc_error(
                    send,
                    415,
                    "Unsupported Media Type: send Content-Type: application/json",
                    [(b"accept-post", b"application/json")],
                )
                return
        await self.app(scope, receive, send)


async def _send_rpc_error(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    body = json.dumps(error).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
