"""The client behind ``k8smcp call``: run a tool on a running k8smcp server.

The kubeconfig travels in the X-Kubeconfig header of the HTTP requests, never in the
tool arguments, so it stays out of anything that logs or shows arguments.

A call is one POST to the server's REST endpoint (``/tools/<tool>``, beside ``/mcp``):
on a plain socket for http, through http.client for https. The MCP SDK costs ~0.6 s of
imports and a session three round trips, httpx ~0.1 s of imports; a script calling 100
times pays that 100 times. The SDK (imported only then) serves ``--list``, ``doctor`` and a
``--url`` that does not end in ``/mcp``; a proxy in the environment (``HTTPS_PROXY``
...) makes the call go through httpx, which honours it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from k8smcp.errors import (
    AuthenticationError,
    K8sMcpError,
    RemoteError,
    ServerUnreachableError,
    UsageError,
    error_class_for_code,
)
from k8smcp.models import ToolResult

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from mcp import Client


_MAX_EVENT_BYTES = 64 * 1024 * 1024
_TIMEOUT_MARGIN = 30.0
_CONNECT_TIMEOUT = 10.0
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")
# Refusals of the HTTP layer (auth, Host, Origin): reported by status, as over MCP.
_TRANSPORT_CODES = frozenset({"unauthorized", "host_not_allowed", "origin_not_allowed"})


class _Statuses:
    """Remembers the last HTTP status the server answered with, to explain failures."""

    def __init__(self) -> None:
        self.last: int | None = None

    async def record(self, response: Any) -> None:
        self.last = response.status_code


@asynccontextmanager
async def connect(
    url: str, *, kubeconfig: str | None, token: str | None, timeout: float | None
) -> AsyncIterator[Client]:
    """An MCP client session to the server at ``url``.

    Raises:
        ServerUnreachableError, AuthenticationError, RemoteError: with one line saying why.
    """
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    statuses = _Statuses()
    try:
        async with httpx2.AsyncClient(
            headers=_headers(kubeconfig, token),
            timeout=httpx2.Timeout(_CONNECT_TIMEOUT, read=_read_timeout(timeout)),
            event_hooks={"response": [statuses.record]},
        ) as http:
            transport = streamable_http_client(
                url, http_client=http, max_sse_event_size=_MAX_EVENT_BYTES
            )
            async with Client(transport) as client:
                yield client
    except K8sMcpError:
        raise
    except BaseException as exc:  # the SDK wraps transport failures in ExceptionGroups
        mapped = _explain(exc, url, statuses.last)
        if mapped is None:
            raise
        raise mapped from exc


def call(
    url: str,
    tool: str,
    args: list[str],
    *,
    kubeconfig: str | None = None,
    token: str | None = None,
    timeout: float | None = None,
    namespace: str | None = None,
    context: str | None = None,
    stdin: str | None = None,
    proxied: bool = False,
) -> ToolResult:
    """Run ``tool args`` on the server and return what the command did.

    ``proxied``: a proxy is set in the environment (the call then goes through httpx).

    Raises:
        K8sMcpError: the server refused the call (the class matches the server's error
            code, so exit codes agree with ``k8smcp run``), or could not be reached.
    """
    # A `|` item is a pipe to a filter (`call kubectl get pods '|' grep x`): sent bare.
    command = " ".join("|" if arg == "|" else shlex.quote(arg) for arg in args)
    arguments: dict[str, Any] = {"command": command}
    for key, value in (
        ("timeout", timeout),
        ("namespace", namespace),
        ("context", context),
        ("stdin", stdin),
    ):
        if value is not None:
            arguments[key] = value
    base = url.rstrip("/")
    if not base.endswith("/mcp"):
        import anyio

        return anyio.run(lambda: _call_mcp(url, tool, args, arguments, kubeconfig, token, timeout))
    endpoint = f"{base.removesuffix('/mcp')}/tools/{tool}"
    body = json.dumps(arguments).encode()
    headers = {**_headers(kubeconfig, token), "Content-Type": "application/json"}
    send = _post_httpx if proxied else _post
    status, payload = send(endpoint, body, headers, _read_timeout(timeout), url)
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if status == 200 and isinstance(data, dict) and "exit_code" in data:
        return _result(tool, args, data)
    raise _refusal(url, tool, status, data)


async def _call_mcp(
    url: str,
    tool: str,
    args: list[str],
    arguments: dict[str, Any],
    kubeconfig: str | None,
    token: str | None,
    timeout: float | None,
) -> ToolResult:
    async with connect(url, kubeconfig=kubeconfig, token=token, timeout=timeout) as client:
        result = await client.call_tool(tool, arguments)
    data = dict(result.structured_content or {})
    if "stdout" not in data and result.content:  # servers that send stdout once, as text
        data["stdout"] = getattr(result.content[0], "text", "")
    if "error" in data and "exit_code" not in data:
        raise error_class_for_code(str(data["error"]))(str(data.get("detail", "")))
    if "exit_code" not in data:
        text = " ".join(getattr(c, "text", "") for c in result.content).strip()
        raise RemoteError(text or f"the server gave no result for tool {tool!r}")
    return _result(tool, args, data)


def _result(tool: str, args: list[str], data: dict[str, Any]) -> ToolResult:
    exit_code = int(data["exit_code"])
    timed_out = bool(data.get("timed_out"))
    return ToolResult(
        ok=exit_code == 0 and not timed_out,
        tool=tool,
        argv=[tool, *args],
        exit_code=exit_code,
        stdout=str(data.get("stdout", "")),
        stderr=str(data.get("stderr", "")),
        truncated=bool(data.get("truncated")),
        timed_out=timed_out,
        duration_ms=int(data.get("duration_ms", 0)),
    )


def _refusal(url: str, tool: str, status: int, data: object) -> K8sMcpError:
    """The error for a call the server did not run, as the MCP path reported it."""
    code = data.get("error") if isinstance(data, dict) else None
    if code == "unknown_tool":  # the MCP SDK's own answer for a tool it does not have
        return RemoteError(f"Unknown tool: {tool}")
    if isinstance(data, dict) and isinstance(code, str) and code not in _TRANSPORT_CODES:
        return error_class_for_code(code)(str(data.get("detail", "")))
    return _status_error(url, status) or RemoteError(f"the server gave no result for tool {tool!r}")


def _post(
    endpoint: str, body: bytes, headers: dict[str, str], read: float, url: str
) -> tuple[int, bytes]:
    """POST ``body`` and return (status, body), raising ServerUnreachableError on failure."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    try:
        if parts.scheme == "https":
            return _post_tls(parts, body, headers, read)
        return _post_plain(parts, body, headers, read)
    except ConnectionRefusedError as exc:
        raise ServerUnreachableError(
            f"cannot reach the k8smcp server at {url}: connection refused"
        ) from exc
    except TimeoutError as exc:
        raise ServerUnreachableError(f"the k8smcp server at {url} did not answer in time") from exc
    except (OSError, ValueError) as exc:
        raise ServerUnreachableError(f"cannot talk to the k8smcp server at {url}: {exc}") from exc


def _post_plain(
    parts: SplitResult, body: bytes, headers: dict[str, str], read: float
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a plain socket (``Connection: close``).

    http.client would load ssl and email with it, ~20 ms of every call to a loopback
    server; a request and a Content-Length or chunked answer need neither.
    """
    import socket

    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    with socket.create_connection(address, timeout=_CONNECT_TIMEOUT) as sock:
        sock.settimeout(read)
        sock.sendall(request)
        chunks = []
        while data := sock.recv(1 << 16):
            chunks.append(data)
    return _parse_response(b"".join(chunks))


def _parse_response(raw: bytes) -> tuple[int, bytes]:
    """(status, body) of a whole HTTP/1.1 answer, read to the connection's end."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the server closed the connection without an answer")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    version, _, status_text = status_line.partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError("the answer is not HTTP/1.x")
    status = int(status_text.split(" ", 1)[0])
    names = {
        name.strip().lower(): value.strip()
        for name, _, value in (field.partition(":") for field in fields)
    }
    if "chunked" in names.get("transfer-encoding", "").lower():
        return status, _dechunk(rest)
    if "content-length" in names:
        length = int(names["content-length"])
        if len(rest) < length:
            raise ValueError("the answer was cut short")
        return status, rest[:length]
    return status, rest


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    while True:
        line, sep, data = data.partition(b"\r\n")
        size = int(line.split(b";", 1)[0], 16) if sep else -1
        if size < 0 or len(data) < size:
            raise ValueError("the answer was cut short")
        if size == 0:
            return b"".join(out)
        out.append(data[:size])
        data = data[size + 2 :]


def _post_tls(
    parts: SplitResult, body: bytes, headers: dict[str, str], read: float
) -> tuple[int, bytes]:
    """The request over TLS through http.client (the system's trust store, SSL_CERT_FILE)."""
    import http.client
    import ssl

    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPSConnection(
        parts.netloc, timeout=_CONNECT_TIMEOUT, context=ssl.create_default_context()
    )
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(read)
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except http.client.HTTPException as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    finally:
        conn.close()


def _post_httpx(
    endpoint: str, body: bytes, headers: dict[str, str], read: float, url: str
) -> tuple[int, bytes]:
    """POST through httpx, which applies the environment's proxy settings."""
    import httpx

    try:
        response = httpx.post(
            endpoint,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(_CONNECT_TIMEOUT, read=read),
        )
    except httpx.HTTPError as exc:
        raise _explain(exc, url, None, httpx) or ServerUnreachableError(
            f"cannot talk to the k8smcp server at {url}: {exc}"
        ) from exc
    return response.status_code, response.content


def proxied(environ: Mapping[str, str]) -> bool:
    """Whether the environment names an HTTP proxy (the call then goes through httpx)."""
    return any(environ.get(name) or environ.get(name.upper()) for name in _PROXY_VARIABLES)


async def list_tools(url: str, *, token: str | None = None) -> list[dict[str, str]]:
    """The server's tools: name, title and the first line of the description."""
    async with connect(url, kubeconfig=None, token=token, timeout=None) as client:
        listed = await client.list_tools()
    return [
        {
            "name": tool.name,
            "title": tool.title or tool.name,
            "description": (tool.description or "").splitlines()[0] if tool.description else "",
        }
        for tool in listed.tools
    ]


def _headers(kubeconfig: str | None, token: str | None) -> dict[str, str]:
    headers = {}
    if kubeconfig:
        headers["X-Kubeconfig"] = "".join(kubeconfig.split())
    if token:
        if any(c in token for c in "\r\n\0"):
            raise UsageError("the server's token must be one line (--token, K8SMCP_TOKEN)")
        headers["Authorization"] = f"Bearer {token.strip()}"
    return headers


def _read_timeout(timeout: float | None) -> float:
    return (timeout or 60.0) + _TIMEOUT_MARGIN


def _explain(
    exc: BaseException, url: str, status: int | None, http: Any = None
) -> K8sMcpError | None:
    """The error behind a failed exchange with the server, or None when it is a bug.

    ``http`` is the httpx-like module whose exceptions to look for (httpx2 by default).
    """
    if http is None:
        import httpx2 as http
    leaves = list(_leaves(exc))
    if any(isinstance(e, http.ConnectError | ConnectionError) for e in leaves):
        return ServerUnreachableError(
            f"cannot reach the k8smcp server at {url}: connection refused"
        )
    if any(isinstance(e, http.TimeoutException) for e in leaves):
        return ServerUnreachableError(f"the k8smcp server at {url} did not answer in time")
    refused = _status_error(url, status)
    if refused is not None:
        return refused
    if any(isinstance(e, http.HTTPError) for e in leaves):
        return ServerUnreachableError(f"cannot talk to the k8smcp server at {url}: {leaves[0]}")
    return None


def _status_error(url: str, status: int | None) -> K8sMcpError | None:
    if status in (401, 403):
        return AuthenticationError(
            f"the server at {url} refused the credentials (HTTP {status}): pass --token "
            "or set K8SMCP_TOKEN"
        )
    if status is not None and status >= 400:
        hint = ": is this the /mcp endpoint of a k8smcp server?" if status in (404, 405) else ""
        return RemoteError(f"the server at {url} answered HTTP {status}{hint}")
    return None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
        if exc.__cause__ is not None:
            yield from _leaves(exc.__cause__)
