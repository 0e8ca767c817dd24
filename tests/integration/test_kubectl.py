"""kubectl through every entry point, against the testbed's real API servers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.integration.entrypoints import Entry
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: demo}
data:
  color: blue
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
      containers: [{name: web, image: registry.example/web:1}]
"""


def test_get_namespaces_shows_the_clusters_marker(entry: Entry, cluster_a: Cluster) -> None:
    out = entry("kubectl", "get ns", kubeconfig=cluster_a.admin_kubeconfig_b64)
    assert out.ok, out.stderr
    assert "cluster-a" in out.stdout and "cluster-b" not in out.stdout


def test_output_formats(entry: Entry, cluster_a: Cluster) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    table = entry("kubectl", "get ns kube-system", kubeconfig=kc)
    assert table.stdout.split()[:3] == ["NAME", "STATUS", "AGE"]
    as_json = entry("kubectl", "get ns kube-system -o json", kubeconfig=kc)
    assert json.loads(as_json.stdout)["metadata"]["name"] == "kube-system"
    as_yaml = entry("kubectl", "get ns kube-system -o yaml", kubeconfig=kc)
    assert yaml.safe_load(as_yaml.stdout)["kind"] == "Namespace"
    names = entry("kubectl", "get ns -o jsonpath='{.items[*].metadata.name}'", kubeconfig=kc)
    assert {"default", "kube-system", "cluster-a"} <= set(names.stdout.split())


def test_apply_from_stdin_then_get_label_patch_describe_delete(
    entry: Entry, cluster_a: Cluster, namespace: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    applied = entry("kubectl", "apply -f -", kubeconfig=kc, namespace=namespace, stdin=CONFIGMAP)
    assert applied.ok, applied.stderr
    assert "configmap/settings created" in applied.stdout
    got = entry("kubectl", f"get configmap settings -n {namespace} -o json", kubeconfig=kc)
    assert json.loads(got.stdout)["data"] == {"color": "blue"}
    labelled = entry(
        "kubectl", "label configmap settings tier=gold", kubeconfig=kc, namespace=namespace
    )
    assert labelled.ok and "labeled" in labelled.stdout
    patch = """'{"data":{"color":"red"}}'"""
    patched = entry(
        "kubectl", f"patch configmap settings -n {namespace} --type merge -p {patch}", kubeconfig=kc
    )
    assert patched.ok, patched.stderr
    described = entry("kubectl", "describe configmap settings", kubeconfig=kc, namespace=namespace)
    assert "tier=gold" in described.stdout and "red" in described.stdout
    assert (
        cluster_a.kubectl(
            "get", "cm", "settings", "-n", namespace, "-o", "jsonpath={.data.color}"
        ).stdout
        == "red"
    )
    deleted = entry("kubectl", "delete configmap settings", kubeconfig=kc, namespace=namespace)
    assert deleted.ok and "deleted" in deleted.stdout
    missing = entry("kubectl", "get configmap settings", kubeconfig=kc, namespace=namespace)
    assert missing.exit_code == 1 and "NotFound" in missing.stderr


def test_create_and_get_across_namespaces(entry: Entry, cluster_a: Cluster, namespace: str) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    created = entry(
        "kubectl", f"create configmap across -n {namespace} --from-literal=k=v", kubeconfig=kc
    )
    assert created.ok, created.stderr
    everywhere = entry("kubectl", "get configmaps -A", kubeconfig=kc)
    rows = [line.split()[:2] for line in everywhere.stdout.splitlines()]
    assert [namespace, "across"] in rows


def test_rollout_status_of_a_deployment_on_the_kwok_node(
    entry: Entry, cluster_a: Cluster, namespace: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    applied = entry("kubectl", "apply -f -", kubeconfig=kc, namespace=namespace, stdin=DEPLOYMENT)
    assert applied.ok, applied.stderr
    rollout = entry(
        "kubectl",
        "rollout status deployment/web --timeout=60s",
        kubeconfig=kc,
        namespace=namespace,
        timeout=90,
    )
    assert rollout.ok, rollout.stderr
    assert "successfully rolled out" in rollout.stdout
    pods = entry("kubectl", "get pods -l app=web -o json", kubeconfig=kc, namespace=namespace)
    items = json.loads(pods.stdout)["items"]
    assert len(items) == 2
    assert {p["status"]["phase"] for p in items} == {"Running"}
    assert {p["spec"]["nodeName"] for p in items} == {cluster_a.node}
    logs = entry(
        "kubectl", f"logs {items[0]['metadata']['name']}", kubeconfig=kc, namespace=namespace
    )
    assert logs.ok, logs.stderr
    assert "k8smcp testbed cluster a" in logs.stdout
    events = entry("kubectl", "events", kubeconfig=kc, namespace=namespace)
    assert events.ok and "ScalingReplicaSet" in events.stdout


def test_api_resources_and_auth_can_i(entry: Entry, cluster_a: Cluster) -> None:
    resources = entry(
        "kubectl",
        "api-resources --api-group=apps -o name",
        kubeconfig=cluster_a.admin_kubeconfig_b64,
    )
    assert "deployments.apps" in resources.stdout.split()
    admin = entry(
        "kubectl", "auth can-i create pods -n cluster-a", kubeconfig=cluster_a.admin_kubeconfig_b64
    )
    assert admin.ok and admin.stdout.strip() == "yes"
    viewer = entry(
        "kubectl", "auth can-i create pods -n cluster-a", kubeconfig=cluster_a.viewer_kubeconfig_b64
    )
    assert viewer.exit_code == 1 and viewer.stdout.strip() == "no"


def test_limited_service_account_gets_the_api_servers_forbidden(
    entry: Entry, cluster_a: Cluster
) -> None:
    kc = cluster_a.viewer_kubeconfig_b64
    allowed = entry("kubectl", "get configmaps -n cluster-a", kubeconfig=kc)
    assert allowed.exit_code == 0, allowed.stderr
    denied = entry(
        "kubectl", "create configmap nope -n cluster-a --from-literal=a=b", kubeconfig=kc
    )
    assert denied.exit_code == 1
    assert "forbidden" in denied.stderr.lower()
    assert 'cannot create resource "configmaps"' in denied.stderr


@pytest.mark.anyio
async def test_a_cluster_known_by_name_is_reached_through_the_proxy_variables(
    cluster_a: Cluster,
) -> None:
    """Confined, a cluster whose server is a name (as every cloud's is) gets no proxy-url.

    Go takes the egress proxy from HTTPS_PROXY for it, so client-go keeps one transport
    for all the objects it lists (with proxy-url it built one per object). kubectl cannot
    resolve ``api.cluster.test`` and may connect nowhere but the proxy: the answer came
    through the proxy, which resolved the name itself when kubectl connected.
    """
    from urllib.parse import urlsplit

    from k8smcp.config import Settings
    from k8smcp.policy import Policy
    from k8smcp.service import Service, ToolCall
    from tests.conftest import b64

    config = yaml.safe_load(cluster_a.admin_kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://api.cluster.test:{urlsplit(cluster_a.server).port}"
        entry["cluster"]["tls-server-name"] = "127.0.0.1"  # the testbed's certificate
    asked: list[str] = []

    def resolver(name: str) -> list[str]:
        asked.append(name)
        return ["127.0.0.1"]

    service = Service(Settings(policy=Policy.server(resolver=resolver), confine=True))
    egress = service._egress
    assert egress is not None
    connected: list[str] = []
    connect = egress._connect

    async def recorded(policy: Policy, host: str, port: int) -> Any:
        connected.append(host)
        return await connect(policy, host, port)

    egress._connect = recorded  # type: ignore[method-assign]
    sent = b64(yaml.safe_dump(config))
    proxy_url = "config view --minify -o jsonpath={.clusters[0].cluster.proxy-url}"
    try:
        named = await service.call_tool(
            ToolCall(tool="kubectl", command=proxy_url, kubeconfig=sent)
        )
        call = ToolCall(tool="kubectl", command="get ns default -o name", kubeconfig=sent)
        result = await service.call_tool(call)
    finally:
        await service.aclose()
    assert (named.exit_code, named.stdout) == (0, ""), named.stderr
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "namespace/default"
    # the kubeconfig's check asked for the name; the proxy connected to it by name (with
    # that answer, remembered a few seconds and checked again with the call's policy)
    assert set(asked) == {"api.cluster.test"}, asked
    assert connected and set(connected) == {"api.cluster.test"}, connected


def test_a_confined_run_ends_without_a_word_on_stderr(cluster_a: Cluster) -> None:
    """The loop of a one-shot run ends with the egress proxy's tunnel still open: quietly."""
    from tests.conftest import k8smcp_env, run_k8smcp

    env = k8smcp_env(KUBECONFIG=str(cluster_a.admin_kubeconfig))
    for _ in range(3):  # the tunnel outlived the loop in most runs, not all
        done = run_k8smcp(
            "run", "--confine", "kubectl", "get", "ns", "default", "-o", "name", env=env
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "namespace/default\n", "")
