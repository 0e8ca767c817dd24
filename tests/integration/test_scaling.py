"""Horizontal scaling: `k8smcp serve` keeps no per-client state, so one MCP client session
whose HTTP requests alternate between two server processes works call after call. This is
what N replicas behind a Kubernetes Service (charts/k8smcp) rely on."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import Server
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

CALLS = 20


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next server's port: tool calls strictly alternate, and
    every other request (initialize, notifications, stream GETs) rotates on its own."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.inner = httpx2.AsyncHTTPTransport()
        self.counts: Counter[str] = Counter()
        self.routes: list[tuple[str, int]] = []  # (JSON-RPC method or HTTP method, port)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        method = request.method
        if request.method == "POST" and request.content:
            method = json.loads(request.content).get("method", "response")
        kind = "call" if method == "tools/call" else "other"
        port = self.ports[self.counts[kind] % len(self.ports)]
        self.counts[kind] += 1
        self.routes.append((method, port))
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_one_session_alternating_between_two_servers(start_server: Any, cluster_a: Cluster) -> None:
    first: Server = start_server()
    second: Server = start_server()
    ports = [first.port, second.port]
    transport = RoundRobin(ports)
    markers = [f"scaling-call-{i:02d}" for i in range(CALLS)]

    async def session() -> list[Any]:
        results = []
        headers = {"X-Kubeconfig": cluster_a.admin_kubeconfig_b64}
        async with httpx2.AsyncClient(transport=transport, headers=headers, timeout=120) as http:
            async with Client(streamable_http_client(first.mcp_url, http_client=http)) as client:
                for marker in markers:
                    # -L adds a label column: the marker shows in the output and the audit line
                    command = f"get ns {cluster_a.marker_namespace} -L {marker}"
                    results.append(await client.call_tool("kubectl", {"command": command}))
        return results

    results = anyio.run(session)

    assert len(results) == CALLS
    for marker, result in zip(markers, results, strict=True):
        data = result.structured_content
        assert not result.is_error and data["exit_code"] == 0, data
        stdout = result.content[0].text
        assert marker.upper() in stdout and cluster_a.marker_namespace in stdout

    call_ports = [port for method, port in transport.routes if method == "tools/call"]
    assert call_ports == [ports[i % 2] for i in range(CALLS)]

    first.stop()
    second.stop()
    for index, server in enumerate((first, second)):
        log = server.log.read_text()
        served = {m for m in markers if m in log}
        expected = {m for i, m in enumerate(markers) if i % 2 == index}
        assert served == expected, f"server {index} log:\n{log}"
