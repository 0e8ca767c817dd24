"""The Helm chart for k8smcp itself, against cluster A: it lints, every value set renders
to objects the real API server accepts (server-side dry run, under the `restricted` Pod
Security Standard), and `helm install --wait` completes with the pods Running on the kwok
node (kwok never pulls the image; the rollout and readiness are what is tested)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import testbed
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "charts" / "k8smcp"
# The testbed's only node is a kwok node: pods must select and tolerate it.
ON_KWOK: dict[str, Any] = {
    "nodeSelector": {"type": "kwok"},
    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-on": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [
                {"host": "k8smcp.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}
            ],
            "tls": [{"hosts": ["k8smcp.example.com"], "secretName": "k8smcp-tls"}],
        },
        "autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80},
        "podDisruptionBudget": {"enabled": True},
        "networkPolicy": {
            "enabled": True,
            "from": [{"namespaceSelector": {"matchLabels": {"team": "agents"}}}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 6443}]}],
        },
        "config": {"passEnv": ["AWS_PROFILE"], "allowedExecPlugins": ["aws", "kubelogin"]},
        **ON_KWOK,
    },
    "token-as-file": {"auth": {"mountAsFile": True}, **ON_KWOK},
    "no-auth-behind-a-proxy": {"auth": {"enabled": False, "insecureNoAuth": True}},
    "read-only-with-token": {
        "auth": {"token": "chart-test-token"},
        "config": {
            "readOnly": True,
            "allowedServers": ["*.example.com", "10.0.0.0/8"],
            "deniedServers": ["10.0.0.1/32"],
            "allowedOrigins": ["https://agents.example.com"],
            "maxOutputBytes": 1048576,
            "timeout": 30,
            "logLevel": "debug",
        },
    },
}


class Helm:
    """The testbed's helm binary with cluster A's admin kubeconfig and private dirs."""

    def __init__(self, cluster: Cluster, home: Path) -> None:
        self.binary = str(testbed.binary("helm"))
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "KUBECONFIG": str(cluster.admin_kubeconfig),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and done.returncode:
            pytest.fail(f"helm {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done


@pytest.fixture
def helm(cluster_a: Cluster, tmp_path: Path) -> Helm:
    return Helm(cluster_a, tmp_path / "helm-home")


@pytest.fixture
def restricted(cluster_a: Cluster, namespace: str) -> str:
    """The test namespace, enforcing the `restricted` Pod Security Standard."""
    cluster_a.kubectl(
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    return namespace


def values_file(tmp_path: Path, values: dict[str, Any]) -> str:
    """``values`` as a file; the chart's required answer (which clusters) added if missing."""
    if not values.get("config", {}).get("allowedServers"):
        values = {"anyServer": True, **values}
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def by_kind(manifest: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(manifest) if doc}


def container_env(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_lint(helm: Helm, tmp_path: Path, name: str) -> None:
    done = helm("lint", "--strict", str(CHART), "-f", values_file(tmp_path, VALUE_SETS[name]))
    assert "0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_template_passes_a_server_side_dry_run(
    helm: Helm, cluster_a: Cluster, restricted: str, tmp_path: Path, name: str
) -> None:
    manifest = helm(
        "template",
        "k8smcp",
        str(CHART),
        "-n",
        restricted,
        "-f",
        values_file(tmp_path, VALUE_SETS[name]),
    ).stdout
    done = cluster_a.kubectl(
        "apply", "--dry-run=server", "-n", restricted, "-f", "-", "-o", "json", input=manifest
    )
    # Deployments are only warned about (pods are what `enforce` refuses).
    assert "would violate PodSecurity" not in done.stderr, done.stderr
    applied = {item["kind"] for item in json.loads(done.stdout)["items"]}
    expected = {"ServiceAccount", "Service", "Deployment"}
    if name != "no-auth-behind-a-proxy":
        expected.add("Secret")
    if name == "everything-on":
        expected |= {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"}
    assert applied == expected


def test_rendered_objects_follow_the_values(helm: Helm, tmp_path: Path) -> None:
    render = lambda name: by_kind(  # noqa: E731
        helm(
            "template",
            "k8smcp",
            str(CHART),
            "-n",
            "agents",
            "-f",
            values_file(tmp_path, VALUE_SETS[name]),
        ).stdout
    )
    defaults = render("defaults")
    pod = defaults["Deployment"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert defaults["ServiceAccount"]["automountServiceAccountToken"] is False
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in pod["containers"][0]["volumeMounts"]
    env = container_env(defaults)
    assert env["K8SMCP_AUTH_TOKEN"] == {"secretKeyRef": {"name": "k8smcp-auth", "key": "token"}}
    assert "k8smcp.agents.svc.cluster.local:*" in env["K8SMCP_ALLOWED_HOSTS"].split(",")
    assert "K8SMCP_READ_ONLY" not in env  # unset values leave the server's defaults

    read_only = render("read-only-with-token")
    env = container_env(read_only)
    assert env["K8SMCP_READ_ONLY"] == "true"
    assert env["K8SMCP_ALLOWED_SERVERS"] == "*.example.com,10.0.0.0/8"
    assert env["K8SMCP_MAX_OUTPUT_BYTES"] == "1048576"
    assert env["K8SMCP_TIMEOUT"] == "30"
    assert read_only["Secret"]["data"]["token"] == "Y2hhcnQtdGVzdC10b2tlbg=="

    everything = render("everything-on")
    assert "replicas" not in everything["Deployment"]["spec"]  # the HPA owns it
    assert "k8smcp.example.com" in container_env(everything)["K8SMCP_ALLOWED_HOSTS"].split(",")
    assert everything["NetworkPolicy"]["spec"]["policyTypes"] == ["Ingress", "Egress"]

    as_file = render("token-as-file")
    env = container_env(as_file)
    assert "K8SMCP_AUTH_TOKEN" not in env
    assert env["K8SMCP_AUTH_TOKEN_FILE"] == "/var/run/secrets/k8smcp/token"
    volumes = as_file["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in volumes
    assert any(v.get("secret", {}).get("secretName") == "k8smcp-auth" for v in volumes)

    no_auth = render("no-auth-behind-a-proxy")
    env = container_env(no_auth)
    assert env["K8SMCP_INSECURE_NO_AUTH"] == "true" and "K8SMCP_AUTH_TOKEN" not in env
    assert "Secret" not in no_auth


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "config.readOnlyy=true"], "config.readOnlyy is not a k8smcp setting"),
        (["--set", "auth.enabled=false"], "set auth.insecureNoAuth=true as well"),
        ([], "which clusters may this server reach?"),
        (["--set", "anyServer=false"], "config.allowedServers"),
    ],
)
def test_bad_values_fail_the_render(helm: Helm, args: list[str], message: str) -> None:
    done = helm("template", "k8smcp", str(CHART), *args, check=False)
    assert done.returncode != 0
    assert message in done.stderr


def test_install_waits_for_the_rollout_on_kwok(
    helm: Helm, cluster_a: Cluster, restricted: str, tmp_path: Path
) -> None:
    values = {
        **ON_KWOK,
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True},
        "networkPolicy": {"enabled": True},
    }
    helm(
        "install", "k8smcp", str(CHART), "-n", restricted, "-f", values_file(tmp_path, values),
        "--wait", "--timeout", "120s",
    )  # fmt: skip
    status = json.loads(helm("status", "k8smcp", "-n", restricted, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    deployment = json.loads(
        cluster_a.kubectl("get", "deployment", "k8smcp", "-n", restricted, "-o", "json").stdout
    )
    assert deployment["status"]["availableReplicas"] == 2
    pods = json.loads(
        cluster_a.kubectl(
            "get", "pods", "-n", restricted, "-l", "app.kubernetes.io/instance=k8smcp", "-o", "json"
        ).stdout
    )["items"]
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] == cluster_a.node
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert not any(v["name"].startswith("kube-api-access") for v in pod["spec"]["volumes"])
    # The generated token is kept across an upgrade.
    secret = "k8smcp-auth"
    token = cluster_a.kubectl(
        "get", "secret", secret, "-n", restricted, "-o", "jsonpath={.data.token}"
    )
    helm(
        "upgrade", "k8smcp", str(CHART), "-n", restricted, "-f", values_file(tmp_path, values),
        "--wait", "--timeout", "120s",
    )  # fmt: skip
    again = cluster_a.kubectl(
        "get", "secret", secret, "-n", restricted, "-o", "jsonpath={.data.token}"
    )
    assert token.stdout and again.stdout == token.stdout
    helm("uninstall", "k8smcp", "-n", restricted, "--wait")
