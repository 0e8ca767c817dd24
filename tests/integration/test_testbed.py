"""The testbed itself works, checked with the raw binaries (no k8smcp code)."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import testbed as tb_pkg
from tests.testbed import Cluster, Testbed

pytestmark = pytest.mark.integration


def run(*cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_both_clusters_answer_with_their_own_marker_namespace(testbed: Testbed) -> None:
    a, b = testbed.a, testbed.b
    assert a.server != b.server
    names = {}
    for c in (a, b):
        out = c.kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}").stdout
        names[c.name] = set(out.split())
    assert "cluster-a" in names["a"] and "cluster-b" not in names["a"]
    assert "cluster-b" in names["b"] and "cluster-a" not in names["b"]
    version = a.kubectl("version", "-o", "json").stdout
    assert '"gitVersion": "v1.37.2"' in version


@pytest.mark.parametrize("which", ["admin", "viewer"])
def test_kubeconfigs_are_self_contained(cluster_a: Cluster, which: str) -> None:
    path = getattr(cluster_a, f"{which}_kubeconfig")
    text = path.read_text()
    assert base64.b64decode(getattr(cluster_a, f"{which}_kubeconfig_b64")).decode() == text
    config = yaml.safe_load(text)
    assert config["clusters"][0]["cluster"]["server"] == cluster_a.server
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    if which == "admin":
        assert set(user) == {"client-certificate-data", "client-key-data"}
    else:
        assert set(user) == {"token"}
    assert "/" not in "".join(str(v) for v in user.values() if not str(v).startswith("ey"))


def test_deployment_rolls_out_on_the_kwok_node(cluster_a: Cluster, namespace: str) -> None:
    cluster_a.kubectl(
        "create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", namespace
    )
    cluster_a.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    pods = cluster_a.kubectl(
        "get", "pods", "-n", namespace, "-o", "jsonpath={.items[*].spec.nodeName}"
    ).stdout.split()
    assert pods == [cluster_a.node, cluster_a.node]
    phases = cluster_a.kubectl(
        "get", "pods", "-n", namespace, "-o", "jsonpath={.items[*].status.phase}"
    ).stdout.split()
    assert phases == ["Running", "Running"]


def test_kubectl_logs_come_from_kwok(cluster_a: Cluster, namespace: str) -> None:
    cluster_a.kubectl("run", "logger", "--image=busybox", "-n", namespace)
    cluster_a.kubectl(
        "wait", "--for=condition=Ready", "pod/logger", "-n", namespace, "--timeout=60s"
    )
    out = cluster_a.kubectl("logs", "logger", "-n", namespace).stdout
    assert "k8smcp testbed cluster a: log line 1" in out


def test_viewer_can_read_but_gets_forbidden_on_create(cluster_a: Cluster) -> None:
    ns = cluster_a.marker_namespace
    ok = cluster_a.kubectl("get", "serviceaccounts", "-n", ns, viewer=True)
    assert "viewer" in ok.stdout
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nope\n  namespace: {ns}\n"
    denied = cluster_a.kubectl("create", "-f", "-", input=manifest, viewer=True, check=False)
    assert denied.returncode != 0
    assert "Error from server (Forbidden)" in denied.stderr
    assert f"system:serviceaccount:{ns}:viewer" in denied.stderr
    other = cluster_a.kubectl("get", "pods", "-n", "default", viewer=True, check=False)
    assert other.returncode != 0 and "Forbidden" in other.stderr


def test_helm_version(testbed_bin_dir: Path) -> None:
    out = run(str(tb_pkg.binary("helm")), "version", "--short")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("v4.3.1")


def test_istioctl_version(testbed_bin_dir: Path) -> None:
    out = run(str(tb_pkg.binary("istioctl")), "version", "--remote=false")
    assert out.returncode == 0, out.stderr
    assert "1.31-dev" in out.stdout


def test_argocd_version(testbed_bin_dir: Path) -> None:
    out = run(str(tb_pkg.binary("argocd")), "version", "--client")
    assert out.returncode == 0, out.stderr
    assert "argocd: v3.6.1" in out.stdout


APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://example.invalid/repo.git, path: guestbook, targetRevision: HEAD}
  destination: {server: https://kubernetes.default.svc, namespace: default}
"""


def test_argocd_core_lists_an_application(cluster_b: Cluster, tmp_path: Path) -> None:
    cluster_b.install_argocd()
    cluster_b.kubectl("apply", "-f", "-", input=APPLICATION)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(base64.b64decode(cluster_b.kubeconfig_b64(namespace="argocd")))
    argocd = str(tb_pkg.binary("argocd"))
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}
    for _ in range(2):
        out = subprocess.run(
            [argocd, "app", "list", "--core"], capture_output=True, text=True, timeout=60, env=env
        )
        if not tb_pkg.argocd_lost_its_exit_race(out.returncode, out.stderr):
            break
    assert out.returncode == 0, out.stderr
    assert "argocd/guestbook" in out.stdout


def test_stop_apiserver_then_stop_leaves_nothing_behind(testbed_bin_dir: Path) -> None:
    # A separate testbed, so the session one stays up for the other tests.
    tb = tb_pkg.start_testbed()
    pids, root = tb.pids(), tb.root
    try:
        assert len(pids) == 10  # etcd, apiserver, controller-manager, scheduler, kwok; x2
        tb.b.stop_apiserver()
        down = tb.b.kubectl("get", "ns", check=False, timeout=20)
        assert down.returncode != 0
        assert "refused" in down.stderr
        assert tb.a.kubectl("get", "ns").returncode == 0
    finally:
        tb.stop()
    for pid in pids:
        assert not _alive(pid), pid
    assert not root.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead but not reaped; treat as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_build_script_is_idempotent_and_agrees_on_the_bin_dir(testbed_bin_dir: Path) -> None:
    env = {**os.environ, "K8SMCP_TESTBED_CACHE": str(tb_pkg.cache_root())}
    out = subprocess.run(
        [str(tb_pkg.HERE / "build")], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == str(tb_pkg.bin_dir())
    assert "building" not in out.stderr
