"""istioctl and argocd through every entry point against a real cluster."""

from __future__ import annotations

import json

import pytest

from tests.integration.entrypoints import Entry, Outcome
from tests.testbed import Cluster, argocd_lost_its_exit_race

pytestmark = pytest.mark.integration

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example/guestbook.git
    path: guestbook
    targetRevision: HEAD
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
"""


@pytest.fixture(scope="module")
def argocd_app(cluster_a: Cluster) -> str:
    cluster_a.install_argocd("argocd")
    cluster_a.kubectl("apply", "-f", "-", input=APPLICATION)
    return "guestbook"


def test_istioctl_version_and_analyze(entry: Entry, cluster_a: Cluster, namespace: str) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    version = entry("istioctl", "version --remote=false", kubeconfig=kc)
    assert version.ok, version.error or version.stderr
    assert version.stdout.strip()
    analyzed = entry("istioctl", f"analyze -n {namespace}", kubeconfig=kc, timeout=120)
    assert analyzed.ok, analyzed.error or analyzed.stderr
    # a real analysis of the namespace: it is not labelled for sidecar injection
    assert f"Info [IST0102] (Namespace {namespace}) The namespace is not enabled" in analyzed.stdout


def argocd_core(entry: Entry, command: str, kubeconfig: str) -> Outcome:
    """Run an argocd --core command, once more if argocd lost its own exit race."""
    done = entry("argocd", command, kubeconfig=kubeconfig, timeout=120)
    if argocd_lost_its_exit_race(done.exit_code, done.stderr):
        done = entry("argocd", command, kubeconfig=kubeconfig, timeout=120)
    return done


def test_argocd_core_lists_and_gets_the_application(
    entry: Entry, cluster_a: Cluster, argocd_app: str
) -> None:
    kc = cluster_a.kubeconfig_b64(namespace="argocd")
    version = entry("argocd", "version --client", kubeconfig=kc)
    assert version.ok and "argocd: v3.6.1" in version.stdout, version.stderr
    listed = argocd_core(entry, "app list --core -o json", kc)
    assert listed.ok, listed.error or listed.stderr
    assert [a["metadata"]["name"] for a in json.loads(listed.stdout)] == [argocd_app]
    got = argocd_core(entry, f"app get {argocd_app} --core -o json", kc)
    assert got.ok, got.error or got.stderr
    app = json.loads(got.stdout)
    assert app["spec"]["source"]["repoURL"] == "https://git.example/guestbook.git"
