"""Secret values, as a real API server and real kubectl print them, never leave the server.

Invariant: through `k8smcp serve` (REST, MCP HTTP, `call`) every way of printing a Secret
as JSON or YAML (one Secret, a List mixed with a ConfigMap, the API's SecretList from
``--raw``, the last-applied annotation that `kubectl apply` leaves) shows its keys and
``<redacted>`` values, while the ConfigMap beside it is untouched; jsonpath on a Secret
is refused; `describe` (sizes only) is unchanged. Local entry points (`run`, `stdio`) do
not redact by default: the user's own machine.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration.entrypoints import LOCAL_ENTRIES, SERVER_ENTRIES, Entry
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

VALUE = "aHVudGVyMi1pbnRlZ3JhdGlvbg=="  # base64 of hunter2-integration
MANIFESTS = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  password: {VALUE}
stringData:
  username: admin-integration
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  password: not-a-secret
"""


@pytest.fixture
def secret_ns(cluster_a: Cluster, namespace: str) -> str:
    cluster_a.kubectl("apply", "-n", namespace, "-f", "-", input=MANIFESTS)
    return namespace


def assert_hidden(text: str) -> None:
    assert VALUE not in text and "admin-integration" not in text
    assert "hunter2" not in text


@pytest.mark.parametrize("name", SERVER_ENTRIES)
def test_server_entries_redact_every_shape(
    entries: dict[str, Entry], cluster_a: Cluster, secret_ns: str, name: str
) -> None:
    entry, kc, ns = entries[name], cluster_a.admin_kubeconfig_b64, secret_ns

    as_yaml = entry("kubectl", f"get secret db -n {ns} -o yaml", kubeconfig=kc)
    assert as_yaml.ok, as_yaml.stderr
    assert_hidden(as_yaml.stdout)
    doc = yaml.safe_load(as_yaml.stdout)
    assert doc["data"] == {"password": "<redacted>", "username": "<redacted>"}
    applied = doc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(applied)["stringData"] == {"username": "<redacted>"}

    mixed = entry("kubectl", f"get secrets,configmaps -n {ns} -o json", kubeconfig=kc)
    assert mixed.ok, mixed.stderr
    assert_hidden(mixed.stdout)
    items = {i["metadata"]["name"]: i for i in json.loads(mixed.stdout)["items"]}
    assert items["settings"]["data"] == {"password": "not-a-secret"}
    assert items["db"]["data"] == {"password": "<redacted>", "username": "<redacted>"}
    assert mixed.stdout.startswith('{\n    "apiVersion"')  # kubectl's layout kept

    raw = entry("kubectl", f"get --raw /api/v1/namespaces/{ns}/secrets", kubeconfig=kc)
    assert raw.ok, raw.stderr
    assert_hidden(raw.stdout)
    assert json.loads(raw.stdout)["kind"] == "SecretList"

    described = entry("kubectl", f"describe secret db -n {ns}", kubeconfig=kc)
    assert described.ok and "bytes" in described.stdout

    refused = entry("kubectl", f"get secret db -n {ns} -o jsonpath={{.data}}", kubeconfig=kc)
    assert refused.error == "denied" and "secret-output" in refused.stderr


@pytest.mark.parametrize("name", LOCAL_ENTRIES)
def test_local_entries_show_values_by_default(
    entries: dict[str, Entry], cluster_a: Cluster, secret_ns: str, name: str
) -> None:
    out = entries[name](
        "kubectl",
        f"get secret db -n {secret_ns} -o yaml",
        kubeconfig=cluster_a.admin_kubeconfig_b64,
    )
    assert out.ok, out.stderr
    assert VALUE in out.stdout
