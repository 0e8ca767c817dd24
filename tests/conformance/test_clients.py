"""Real MCP clients of several eras and languages, over stdio and streamable HTTP, against
real k8smcp servers and the testbed's real cluster: each runs the whole scenario
(``scenario.plan``) and every one must see the same answers (``scenario.check``).

TypeScript: the SDK 1.17 (protocol 2025-06-18, as many desktop hosts embed it), the newest
1.x (2025-11-25) and 2.x (2026-07-28). Python: SDK 1.x in a venv of its own, and the
installed 2.x on both eras.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.conformance import scenario
from tests.conftest import Server
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

CLIENTS = {
    "ts-sdk-1.17": ("node", {"sdk": "sdk-1-17"}),
    "ts-sdk-1.32": ("node", {"sdk": "sdk-1-latest"}),
    "ts-client-2.4": ("node", {"sdk": "client-2", "mode": "auto"}),
    "py-sdk-1.30": ("py1", {}),
    "py-sdk-2.3": ("py2", {"mode": "auto"}),
    "py-sdk-2.3-legacy": ("py2", {"mode": "legacy"}),
}


def _argv(kind: str, request: pytest.FixtureRequest) -> list[str]:
    if kind == "node":
        return [request.getfixturevalue("node"), str(scenario.TS_DRIVER)]
    python = request.getfixturevalue("py1") if kind == "py1" else sys.executable
    return [python, str(scenario.PY_DRIVER)]


@pytest.mark.parametrize("client", list(CLIENTS))
def test_stdio(client: str, request: pytest.FixtureRequest, stdio_target: dict[str, Any]) -> None:
    kind, options = CLIENTS[client]
    the_plan = scenario.plan("stdio", **stdio_target, **options)
    out = scenario.run_driver(_argv(kind, request), the_plan, stdio_target["env"])
    scenario.check(out, transport="stdio")


@pytest.mark.parametrize("client", list(CLIENTS))
def test_streamable_http(
    client: str, request: pytest.FixtureRequest, http_server: Server, cluster_a: Cluster
) -> None:
    kind, options = CLIENTS[client]
    the_plan = scenario.plan(
        "http",
        url=http_server.mcp_url,
        headers={"X-Kubeconfig": cluster_a.kubeconfig_b64()},
        **options,
    )
    out = scenario.run_driver(_argv(kind, request), the_plan, http_server_env(http_server))
    scenario.check(out, transport="http")


def http_server_env(server: Server) -> dict[str, str]:
    import os

    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
