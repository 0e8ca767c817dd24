"""One server, many clusters: every answer comes from the cluster its own kubeconfig
names, under concurrency and across REST and MCP; one cluster failing leaves the others
and the server alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests import testbed as tb
from tests.conftest import Server
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

CALLS = 200
PARALLEL = 32


@pytest.mark.anyio
async def test_calls_to_two_clusters_never_cross(
    testbed_server: Server, cluster_a: Cluster, cluster_b: Cluster
) -> None:
    clusters = {"a": cluster_a, "b": cluster_b}
    answers: list[tuple[str, str, str]] = []  # (door, cluster, stdout)
    limiter = anyio.CapacityLimiter(PARALLEL)

    async with (
        httpx.AsyncClient(timeout=120) as rest,
        httpx2.AsyncClient(
            headers={"X-Kubeconfig": cluster_a.admin_kubeconfig_b64}, timeout=120
        ) as http_a,
        httpx2.AsyncClient(
            headers={"X-Kubeconfig": cluster_b.admin_kubeconfig_b64}, timeout=120
        ) as http_b,
        Client(streamable_http_client(testbed_server.mcp_url, http_client=http_a)) as mcp_a,
        Client(streamable_http_client(testbed_server.mcp_url, http_client=http_b)) as mcp_b,
    ):
        sessions = {"a": mcp_a, "b": mcp_b}

        async def one(i: int) -> None:
            name = "ab"[i % 2]
            async with limiter:
                if i % 4 < 2:
                    response = await rest.post(
                        f"{testbed_server.url}/tools/kubectl",
                        json={"command": "get ns -o name"},
                        headers={"X-Kubeconfig": clusters[name].admin_kubeconfig_b64},
                    )
                    answers.append(("rest", name, response.json()["stdout"]))
                else:
                    result = await sessions[name].call_tool(
                        "kubectl", {"command": "get ns -o name"}
                    )
                    answers.append(("mcp", name, result.content[0].text))

        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(one, i)

    assert len(answers) == CALLS
    assert {door for door, _, _ in answers} == {"rest", "mcp"}
    for door, name, stdout in answers:
        other = "b" if name == "a" else "a"
        assert f"namespace/cluster-{name}" in stdout, (door, name, stdout)
        assert f"namespace/cluster-{other}" not in stdout, (door, name, stdout)


@pytest.fixture
def own_testbed(testbed_bin_dir: Any) -> Iterator[tb.Testbed]:
    """Clusters of this test's own: it stops one of their API servers."""
    with tb.start_testbed() as fresh:
        yield fresh


def test_a_cluster_going_down_affects_only_its_own_calls(
    own_testbed: tb.Testbed, testbed_env: dict[str, str], tmp_path: Any
) -> None:
    server = Server(env=testbed_env, log=tmp_path / "serve.log")
    try:
        a, b = own_testbed.a, own_testbed.b

        def get_ns(cluster: Cluster) -> dict[str, Any]:
            return server.post(
                "kubectl",
                {"command": "get ns cluster-" + cluster.name},
                headers={"X-Kubeconfig": cluster.admin_kubeconfig_b64},
            ).json()

        assert get_ns(b)["ok"]
        b.stop_apiserver()
        down = get_ns(b)
        assert down["exit_code"] != 0 and not down["ok"]
        # kubectl words it two ways, depending on whether discovery was cached
        assert re.search(r"connection refused|to the server .+ was refused", down["stderr"])
        for _ in range(3):
            assert get_ns(a)["ok"]
        assert httpx.get(f"{server.url}/health").status_code == 200
    finally:
        server.stop()
