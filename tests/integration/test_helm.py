"""helm through every entry point against a real cluster, with a real chart repository.

The chart is made by `helm create`, packaged, indexed and served over HTTP on loopback.
Local entry points (`run`, `stdio`) install it from its directory, as a user on their
own machine does; through the server (REST, MCP HTTP, `call`) a chart directory on the
server's disk is refused, so the same chart comes from the repository with `--repo`.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import testbed
from tests.integration.entrypoints import LOCAL_ENTRIES, Entry
from tests.testbed import Cluster

pytestmark = pytest.mark.integration


class ChartRepo:
    def __init__(self, chart_dir: Path, url: str) -> None:
        self.chart_dir = chart_dir
        self.url = url


@pytest.fixture(scope="session")
def chart_repo(
    testbed_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChartRepo]:
    """A `helm create` chart, packaged into a repository served on a loopback port."""
    root = tmp_path_factory.mktemp("charts")
    helm = str(testbed.binary("helm"))
    env = {"HOME": str(root), "PATH": "/usr/bin:/bin"}
    subprocess.run([helm, "create", "demo"], cwd=root, env=env, check=True, capture_output=True)
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(
        [helm, "package", "demo", "-d", str(repo)],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    subprocess.run(
        [helm, "repo", "index", str(repo), "--url", url], env=env, check=True, capture_output=True
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield ChartRepo(root / "demo", url)
    finally:
        httpd.shutdown()
        httpd.server_close()


def chart_source(entry: Entry, repo: ChartRepo) -> str:
    if entry.name in LOCAL_ENTRIES:
        return str(repo.chart_dir)
    return f"demo --repo {repo.url}"


def test_release_lifecycle(
    entry: Entry, cluster_a: Cluster, namespace: str, chart_repo: ChartRepo
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    source = chart_source(entry, chart_repo)

    def helm(command: str, **kwargs: object) -> str:
        out = entry("helm", command, kubeconfig=kc, **kwargs)  # type: ignore[arg-type]
        assert out.ok, f"helm {command}: {out.error} {out.stderr}"
        return out.stdout

    assert "STATUS: deployed" in helm(f"install web {source} -n {namespace}")
    listed = json.loads(helm(f"list -n {namespace} -o json"))
    assert [(r["name"], r["status"], r["chart"]) for r in listed] == [
        ("web", "deployed", "demo-0.1.0")
    ]
    assert "STATUS: deployed" in helm(f"status web -n {namespace}")
    helm(f"upgrade web {source} -n {namespace} --set replicaCount=2")
    replicas = cluster_a.kubectl(
        "get", "deploy", "web-demo", "-n", namespace, "-o", "jsonpath={.spec.replicas}"
    ).stdout
    assert replicas == "2"
    assert "Rollback was a success" in helm(f"rollback web 1 -n {namespace}")
    history = json.loads(helm(f"history web -n {namespace} -o json"))
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert history[-1]["description"] == "Rollback to 1"
    assert "uninstalled" in helm(f"uninstall web -n {namespace}")
    assert json.loads(helm(f"list -n {namespace} -o json")) == []


def test_install_wait_finishes_on_the_kwok_node(
    entry: Entry, cluster_a: Cluster, namespace: str, chart_repo: ChartRepo
) -> None:
    out = entry(
        "helm",
        f"install waited {chart_source(entry, chart_repo)} -n {namespace} --wait --timeout 90s",
        kubeconfig=cluster_a.admin_kubeconfig_b64,
        timeout=120,
    )
    assert out.ok, out.stderr
    ready = cluster_a.kubectl(
        "get", "deploy", "waited-demo", "-n", namespace, "-o", "jsonpath={.status.readyReplicas}"
    ).stdout
    assert ready == "1"


def test_repo_add_leaves_no_trace_in_the_next_call(
    entry: Entry, cluster_a: Cluster, chart_repo: ChartRepo
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    added = entry("helm", f"repo add demo {chart_repo.url}", kubeconfig=kc)
    assert added.ok, added.error or added.stderr
    listed = entry("helm", "repo list", kubeconfig=kc)
    assert listed.ok and "no repositories to show" in listed.stderr
    assert "demo" not in listed.stdout
