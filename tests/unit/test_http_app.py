"""The fast path k8smcp gives sse_starlette's line splitting encodes every event to the
same bytes as sse_starlette's own pattern."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sse_starlette.event import ServerSentEvent

from k8smcp.speedups import LineBreaks as _LineBreaks
from k8smcp.speedups import fast_sse_line_breaks as _fast_sse_line_breaks

SSE_LINE_BREAKS = re.compile(r"\r\n|\r|\n")  # sse_starlette 3.x's own


def _encode(pattern: Any, **event: Any) -> bytes:
    before = ServerSentEvent._LINE_SEP_EXPR
    ServerSentEvent._LINE_SEP_EXPR = pattern
    try:
        return ServerSentEvent(**event).encode()
    finally:
        ServerSentEvent._LINE_SEP_EXPR = before


@pytest.mark.parametrize(
    "event",
    [
        {"data": '{"jsonrpc":"2.0","id":1,"result":{"text":"a\\nb"}}', "event": "message"},
        {"data": "one\ntwo\r\nthree\rfour\n", "event": "message", "id": "7"},
        {"data": "", "event": "message"},
        {"data": "\n\n", "comment": "a\rb"},
        {"data": "x", "event": "mess\nage", "id": "1\r\n2"},
        {"data": "é" * 1000 + "\u2028" + "ü"},  # not a line break for SSE: one data line
    ],
)
def test_events_encode_to_the_same_bytes(event: dict[str, Any]) -> None:
    assert _encode(_LineBreaks(SSE_LINE_BREAKS), **event) == _encode(SSE_LINE_BREAKS, **event)


def test_installed_once_over_sse_starlettes_pattern() -> None:
    _fast_sse_line_breaks()
    _fast_sse_line_breaks()
    installed = ServerSentEvent._LINE_SEP_EXPR
    assert isinstance(installed, _LineBreaks)
    assert installed.pattern.pattern == SSE_LINE_BREAKS.pattern


@pytest.mark.anyio
async def test_two_first_catalog_requests_list_each_tool_once() -> None:
    import anyio
    import httpx

    from k8smcp.config import Settings
    from k8smcp.http_app import build_app
    from k8smcp.service import Service

    service = Service(Settings(binaries={"helm": "/nope/helm"}))
    app = build_app(service)
    transport = httpx.ASGITransport(app=app)
    answers: list[list[str]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:

        async def first() -> None:
            response = await http.get("/tools")
            answers.append([t["tool"] for t in response.json()])

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            tg.start_soon(first)
        later = [t["tool"] for t in (await http.get("/tools")).json()]
    await service.aclose()
    expected = ["kubectl", "helm", "istioctl", "argocd"]
    assert answers == [expected, expected] and later == expected
