"""The MCP client behind ``k8smcp call``: run a tool on a running k8smcp server.

The kubeconfig travels in the X-Kubeconfig header of the HTTP requests, never in the
tool arguments, so it stays out of anything that logs or shows arguments.
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import TypeAdapter, ValidationError

from k8smcp.errors import (
    AuthenticationError,
    K8sMcpError,
    RemoteError,
    ServerUnreachableError,
    error_class_for_code,
)
from k8smcp.models import ToolResult

_MAX_EVENT_BYTES = 64 * 1024 * 1024
_TIMEOUT_MARGIN = 30.0


class _Statuses:
    """Remembers the last HTTP status the server answered with, to explain failures."""

    def __init__(self) -> None:
        self.last: int | None = None

    async def record(self, response: httpx2.Response) -> None:
        self.last = response.status_code


@asynccontextmanager
async def connect(
    url: str, *, kubeconfig: str | None, token: str | None, timeout: float | None
) -> AsyncIterator[Client]:
    """An MCP client session to the server at ``url``.

    Raises:
        ServerUnreachableError, AuthenticationError, RemoteError: with one line saying why.
    """
    headers = {}
    if kubeconfig:
        headers["X-Kubeconfig"] = "".join(kubeconfig.split())
    if token:
        headers["Authorization"] = f"Bearer {token}"
    statuses = _Statuses()
    read = (timeout or 60.0) + _TIMEOUT_MARGIN
    try:
        async with httpx2.AsyncClient(
            headers=headers,
            timeout=httpx2.Timeout(10.0, read=read),
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


async def call(
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
) -> ToolResult:
    """Run ``tool args`` on the server and return what the command did.

    Raises:
        K8sMcpError: the server refused the call (the class matches the server's error
            code, so exit codes agree with ``k8smcp run``), or could not be reached.
    """
    arguments: dict[str, Any] = {"command": shlex.join(args)}
    for key, value in (
        ("timeout", timeout),
        ("namespace", namespace),
        ("context", context),
        ("stdin", stdin),
    ):
        if value is not None:
            arguments[key] = value
    async with connect(url, kubeconfig=kubeconfig, token=token, timeout=timeout) as client:
        result = await client.call_tool(tool, arguments)
    data = result.structured_content or {}
    if "error" in data and "exit_code" not in data:
        raise error_class_for_code(str(data["error"]))(str(data.get("detail", "")))
    if "exit_code" not in data:
        text = " ".join(getattr(c, "text", "") for c in result.content).strip()
        raise RemoteError(text or f"the server gave no result for tool {tool!r}")
    first = result.content[0] if result.content else None
    stdout = getattr(first, "text", "")  # sent once, as the first text block
    try:
        return TypeAdapter(ToolResult).validate_python({**data, "stdout": stdout})
    except ValidationError as exc:
        raise RemoteError(f"the server's answer for tool {tool!r} is not a k8smcp result") from exc


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


def _explain(exc: BaseException, url: str, status: int | None) -> K8sMcpError | None:
    leaves = list(_leaves(exc))
    if any(isinstance(e, httpx2.ConnectError | ConnectionError) for e in leaves):
        return ServerUnreachableError(
            f"cannot reach the k8smcp server at {url}: connection refused"
        )
    if any(isinstance(e, httpx2.TimeoutException) for e in leaves):
        return ServerUnreachableError(f"the k8smcp server at {url} did not answer in time")
    if status in (401, 403):
        return AuthenticationError(
            f"the server at {url} refused the credentials (HTTP {status}): pass --token "
            "or set K8SMCP_TOKEN"
        )
    if status is not None and status >= 400:
        hint = ": is this the /mcp endpoint of a k8smcp server?" if status in (404, 405) else ""
        return RemoteError(f"the server at {url} answered HTTP {status}{hint}")
    if any(isinstance(e, httpx2.HTTPError) for e in leaves):
        return ServerUnreachableError(f"cannot talk to the k8smcp server at {url}: {leaves[0]}")
    return None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
        if exc.__cause__ is not None:
            yield from _leaves(exc.__cause__)
