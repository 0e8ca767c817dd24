"""Per-call private homes must not make every call rediscover the API: calls to the
same cluster share kubectl's discovery cache, one directory per cluster identity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import testbed as tb
from tests.conftest import Server
from tests.testbed import Cluster

pytestmark = pytest.mark.integration


def api_requests(cluster: Cluster) -> int:
    """The API server's own count of the requests it has served."""
    metrics = cluster.kubectl("get", "--raw", "/metrics").stdout
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in metrics.splitlines()
        if line.startswith("apiserver_request_total{")
    )


def requests_per_call(server: Server, cluster: Cluster, calls: int = 5) -> float:
    body = {"command": "get configmaps -n cluster-" + cluster.name}
    headers = {"X-Kubeconfig": cluster.admin_kubeconfig_b64}
    assert server.post("kubectl", body, headers=headers).json()["ok"]  # warm up
    baseline = api_requests(cluster)
    probe = api_requests(cluster) - baseline  # what one metrics scrape itself costs
    before = api_requests(cluster)
    for _ in range(calls):
        assert server.post("kubectl", body, headers=headers).json()["ok"]
    return (api_requests(cluster) - before - probe) / calls


@pytest.fixture
def quiet_testbed(testbed_bin_dir: Path) -> Iterator[tb.Testbed]:
    """Clusters of this test's own: the session's also serve other tests, whose requests
    would be counted with ours."""
    with tb.start_testbed() as fresh:
        yield fresh


def test_calls_share_discovery_per_cluster(
    testbed_env: dict[str, str], quiet_testbed: tb.Testbed, tmp_path: Path
) -> None:
    cluster_a, cluster_b = quiet_testbed.a, quiet_testbed.b
    cache = tmp_path / "cache"
    cached = Server(env={**testbed_env, "K8SMCP_CACHE_DIR": str(cache)}, log=tmp_path / "a.log")
    uncached = Server(
        env={**testbed_env, "K8SMCP_DISCOVERY_CACHE": "false"}, log=tmp_path / "b.log"
    )
    try:
        with_cache = requests_per_call(cached, cluster_a)
        without = requests_per_call(uncached, cluster_a)
        assert with_cache <= 1.5, with_cache  # the request itself, nothing rediscovered
        assert without > with_cache + 1, (without, with_cache)
        requests_per_call(cached, cluster_b, calls=1)
    finally:
        cached.stop()
        uncached.stop()
    identities = sorted(p for p in cache.iterdir())
    assert len(identities) == 2  # one per cluster, whatever the number of calls
    assert cache.stat().st_mode & 0o777 == 0o700
    for directory in identities:
        assert (directory / "discovery").is_dir()
        assert not any(re.search(r"token|key", p.name) for p in directory.rglob("*"))
