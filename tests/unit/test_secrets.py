"""No Secret value survives redaction, and nothing else changes.

Invariants: every value under ``data``/``stringData`` of a Secret, anywhere in JSON or
YAML output, becomes ``<redacted>`` while its keys stay; output without a Secret comes
back byte for byte; structured output that should carry Secrets but does not parse is
withheld; and commands that would print Secret values as plain text are refused.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from k8smcp.errors import PolicyDeniedError, error_body
from k8smcp.policy import check_secret_output, secret_output_allowed
from k8smcp.secrets import REDACTED, WITHHELD, redact_secrets

RULE = "secret-output"

PASSWORD = "aHVudGVyMg=="  # base64 of hunter2
PLAIN = "hunter2"
GET_JSON = ["get", "secrets", "-o", "json"]
GET_YAML = ["get", "secrets", "-o", "yaml"]


def secret(name: str = "db", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "Opaque",
        "data": {"password": PASSWORD, "username": "YWRtaW4="},
    }
    body.update(extra)
    return body


def configmap(name: str = "cfg") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"password": PASSWORD},  # a ConfigMap is not redacted, whatever its keys
    }


def kubectl_json(value: Any) -> str:
    """As kubectl -o json prints: four spaces, a final newline."""
    return json.dumps(value, indent=4) + "\n"


def kubectl_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False)


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text and PLAIN not in text and "YWRtaW4=" not in text


# --- JSON ------------------------------------------------------------------------


def test_json_secret_keeps_keys_and_kubectl_layout() -> None:
    out = redact_secrets("kubectl", GET_JSON, kubectl_json(secret()))
    expected = secret()
    expected["data"] = {"password": REDACTED, "username": REDACTED}
    assert out == kubectl_json(expected)


def test_json_list_of_mixed_kinds() -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [secret("a"), configmap(), secret("b")]}
    out = json.loads(
        redact_secrets("kubectl", ["get", "secrets,cm", "-o", "json"], kubectl_json(doc))
    )
    assert [item["data"] for item in out["items"]] == [
        {"password": REDACTED, "username": REDACTED},
        {"password": PASSWORD},
        {"password": REDACTED, "username": REDACTED},
    ]


def test_api_secret_list_items_have_no_kind_and_are_still_redacted() -> None:
    doc = {
        "kind": "SecretList",
        "apiVersion": "v1",
        "items": [{"metadata": {}, "data": {"k": "dg=="}}],
    }
    raw = json.dumps(doc, separators=(",", ":"))
    out = redact_secrets("kubectl", ["get", "--raw", "/api/v1/secrets"], raw)
    assert out == raw.replace("dg==", REDACTED)  # compact in, compact out


def test_json_watch_stream_and_watch_events() -> None:
    stream = kubectl_json(secret("a")) + kubectl_json(configmap()) + kubectl_json(secret("b"))
    out = redact_secrets("kubectl", ["get", "secrets", "-w", "-o", "json"], stream)
    assert_no_secret(out.replace(kubectl_json(configmap()), ""))
    assert kubectl_json(configmap()) in out  # untouched, byte for byte
    assert out.count(REDACTED) == 4
    events = kubectl_json({"type": "ADDED", "object": secret()})
    assert_no_secret(redact_secrets("kubectl", ["get", "secrets", "-o", "json"], events))


def test_string_data_and_odd_data_shapes() -> None:
    doc = secret(stringData={"token": PLAIN})
    assert_no_secret(redact_secrets("kubectl", GET_JSON, kubectl_json(doc)))
    odd = secret(data="not-a-map-" + PLAIN)
    assert json.loads(redact_secrets("kubectl", GET_JSON, kubectl_json(odd)))["data"] == REDACTED
    for empty in ({}, None):
        text = kubectl_json(secret(data=empty))
        assert redact_secrets("kubectl", GET_JSON, text) is text


def test_last_applied_annotation_is_a_copy_of_the_secret_and_is_redacted() -> None:
    applied = json.dumps(secret(), separators=(",", ":")) + "\n"
    doc = secret()
    doc["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": applied,
        "team": "db",
    }
    out = json.loads(redact_secrets("kubectl", GET_JSON, kubectl_json(doc)))
    annotations = out["metadata"]["annotations"]
    assert_no_secret(json.dumps(out))
    copy = annotations["kubectl.kubernetes.io/last-applied-configuration"]
    assert copy.endswith("\n") and json.loads(copy)["data"]["password"] == REDACTED
    assert annotations["team"] == "db"
    doc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{bad"
    out = json.loads(redact_secrets("kubectl", GET_JSON, kubectl_json(doc)))
    assert out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == (
        REDACTED
    )


def test_unicode_and_long_strings_survive() -> None:
    doc = secret(metadata={"name": "db", "annotations": {"note": "ünïcødé " + "x" * 300}})
    for text in (kubectl_json(doc), kubectl_yaml(doc)):
        out = redact_secrets("kubectl", GET_YAML, text)
        assert "ünïcødé " + "x" * 300 in out  # not escaped, not folded


# --- YAML ------------------------------------------------------------------------


KUBECTL_YAML = """\
apiVersion: v1
data:
  password: aHVudGVyMg==
  username: YWRtaW4=
kind: Secret
metadata:
  creationTimestamp: "2026-01-01T00:00:00Z"
  name: db
  namespace: default
type: Opaque
"""


def test_yaml_secret_as_kubectl_prints_it() -> None:
    out = redact_secrets("kubectl", ["get", "secret", "db", "-o", "yaml"], KUBECTL_YAML)
    expected = KUBECTL_YAML.replace("aHVudGVyMg==", REDACTED).replace("YWRtaW4=", REDACTED)
    assert out.replace("'", '"') == expected  # PyYAML quotes with ' where Go uses "


def test_yaml_keeps_timestamps_strings() -> None:
    text = "kind: Secret\nmetadata:\n  created: 2026-01-01T00:00:00Z\ndata:\n  a: Yg==\n"
    out = redact_secrets("kubectl", GET_YAML, text)
    assert yaml.safe_load(out.replace("created:", "created: !!str"))  # still YAML
    assert "2026-01-01T00:00:00Z" in out and "2026-01-01 00:00:00" not in out


def test_yaml_list_of_mixed_kinds() -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [configmap(), secret()]}
    out = yaml.safe_load(redact_secrets("kubectl", GET_YAML, kubectl_yaml(doc)))
    assert out["items"][0] == configmap()
    assert out["items"][1]["data"] == {"password": REDACTED, "username": REDACTED}


HELM_MANIFEST = """\
---
# Source: web/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: web
stringData:
  password: hunter2
---
# Source: web/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web   # the app's settings
data:
  password: aHVudGVyMg==
---
# Source: web/templates/empty.yaml
---
# Source: web/templates/tls.yaml
apiVersion: v1
kind: Secret
metadata:
  name: tls
data:
  tls.key: aHVudGVyMg==

"""


def test_helm_manifest_multi_document_keeps_the_other_documents_and_comments() -> None:
    out = redact_secrets("helm", ["get", "manifest", "web"], HELM_MANIFEST)
    docs = list(yaml.safe_load_all(out))
    assert docs[0]["stringData"] == {"password": REDACTED}
    assert docs[1]["data"] == {"password": PASSWORD}  # a ConfigMap
    assert docs[2] is None
    assert docs[3]["data"] == {"tls.key": REDACTED}
    for comment in ("# Source: web/templates/secret.yaml", "# Source: web/templates/tls.yaml"):
        assert comment in out
    configmap_doc = HELM_MANIFEST.split("---\n")[2]
    assert configmap_doc in out  # byte for byte, its comment included
    assert out.endswith("\n\n")


def test_kyaml_flow_style_is_parsed() -> None:
    kyaml = '---\n{\n  apiVersion: "v1",\n  data: {\n    a: "Yg==",\n  },\n  kind: "Secret",\n}\n'
    out = redact_secrets("kubectl", ["get", "secret", "-o", "kyaml"], kyaml)
    assert "Yg==" not in out and yaml.safe_load(out)["data"] == {"a": REDACTED}


def test_helm_release_json_and_yaml_manifests_are_redacted() -> None:
    release = {
        "name": "web",
        "info": {"status": "deployed"},
        "manifest": HELM_MANIFEST,
        "hooks": [
            {
                "name": "h",
                "kind": "Secret",
                "path": "web/templates/hook.yaml",
                "manifest": "apiVersion: v1\nkind: Secret\ndata:\n  k: aHVudGVyMg==\n",
                "events": ["pre-install"],
            }
        ],
        "version": 1,
    }
    compact = json.dumps(release, separators=(",", ":"))
    out = redact_secrets("helm", ["status", "web", "-o", "json"], compact)
    assert "\n" not in out.strip()  # helm prints compact JSON; so do we
    parsed = json.loads(out)
    assert_no_secret(parsed["manifest"].replace(PASSWORD, "", 1))  # the ConfigMap keeps one
    assert "# Source: web/templates/configmap.yaml" in parsed["manifest"]
    assert_no_secret(parsed["hooks"][0]["manifest"])
    as_yaml = redact_secrets("helm", ["status", "web", "-o", "yaml"], kubectl_yaml(release))
    assert_no_secret(yaml.safe_load(as_yaml)["hooks"][0]["manifest"])


def test_a_manifest_field_elsewhere_is_left_alone() -> None:
    doc = {"kind": "ConfigMap", "data": {"manifest": "kind: Secret\ndata: {a: b}\n"}}
    text = kubectl_json(doc)
    assert redact_secrets("kubectl", ["get", "cm", "-o", "json"], text) is text


# --- what is left alone, and what is withheld -------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "text"),
    [
        ("kubectl", ["get", "secrets"], "NAME   TYPE     DATA   AGE\ndb     Opaque   2      5d\n"),
        (
            "kubectl",
            ["describe", "secret", "db"],
            "Name:         db\nNamespace:    default\n\nData\n====\npassword:  7 bytes\n",
        ),
        ("kubectl", ["get", "secrets", "-o", "name"], "secret/db\nsecret/tls\n"),
        ("kubectl", ["get", "pods", "-o", "json"], kubectl_json({"kind": "Pod", "spec": {}})),
        ("kubectl", ["logs", "web"], "line: one\n\tweird: [\n"),
        ("kubectl", ["get", "pods", "-o", "json"], '{"kind": "List", "items": [\n'),
        ("helm", ["list"], "NAME\tNAMESPACE\tREVISION\nweb\tdefault\t1\n"),
        ("istioctl", ["version"], "client version: 1.31\n"),
        ("kubectl", GET_JSON, ""),
        ("kubectl", GET_JSON, "\n  \n"),
    ],
)
def test_output_without_secrets_is_returned_as_is(tool: str, args: list[str], text: str) -> None:
    assert redact_secrets(tool, args, text) is text


TRUNCATED = "\n[k8smcp: stdout truncated at 1048576 bytes; 5 more bytes dropped]\n"


@pytest.mark.parametrize(
    ("tool", "args", "text"),
    [
        ("kubectl", GET_JSON, kubectl_json(secret())[:80] + TRUNCATED),
        ("kubectl", GET_YAML, KUBECTL_YAML[:60] + TRUNCATED),
        ("kubectl", ["get", "secrets", "-w", "-o", "json"], kubectl_json(secret()) + '{\n  "k'),
        ("kubectl", ["get", "--raw", "/api/v1/namespaces/a/%73ecrets"], '{"kind":"SecretL'),
        ("kubectl", ["get", "-f", "-", "-o", "yaml"], "kind: Secret\ndata: [\n"),
        ("kubectl", ["apply", "view-last-applied", "secret/db"], "data: {\n"),
        ("helm", ["get", "manifest", "web"], HELM_MANIFEST + "  - : [\n"),
        ("helm", ["template", "web", "repo/web"], "a: [\n"),
        ("helm", ["status", "web", "-o", "json"], '{"manifest": "'),
        ("argocd", ["app", "manifests", "web", "--core"], "a: [\n"),
    ],
)
def test_structured_output_that_does_not_parse_is_withheld(
    tool: str, args: list[str], text: str
) -> None:
    assert redact_secrets(tool, args, text) == WITHHELD


def test_hostile_yaml_neither_hangs_nor_crashes() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12)
    )
    started = time.monotonic()
    assert redact_secrets("kubectl", GET_YAML, laughs) is laughs
    cycle = "kind: Secret\ndata: {a: b}\nself: &s [*s]\n"
    assert "data:\n  a: <redacted>" in redact_secrets("kubectl", GET_YAML, cycle)
    deep = "[" * 100_000 + "]" * 100_000
    assert redact_secrets("kubectl", ["logs", "x"], deep) is deep
    assert time.monotonic() - started < 5


def test_a_deep_secret_and_a_bug_withhold_rather_than_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = '{"kind":"Secret","data":{"a":"Yg=="},"x":' + "[" * 5000 + "]" * 5000 + "}"
    assert redact_secrets("kubectl", ["get", "secret", "x", "-o", "json"], deep) == WITHHELD

    def broken(text: str) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr("k8smcp.secrets._redact_text", broken)
    assert redact_secrets("kubectl", ["get", "pods", "-o", "json"], "{}") == WITHHELD


def test_redaction_is_idempotent() -> None:
    once = redact_secrets("helm", ["get", "manifest", "web"], HELM_MANIFEST)
    assert redact_secrets("helm", ["get", "manifest", "web"], once) is once
    once = redact_secrets("kubectl", GET_JSON, kubectl_json(secret()))
    assert redact_secrets("kubectl", GET_JSON, once) is once


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_list_of_a_thousand_secrets_is_fast(fmt: str) -> None:
    items = [secret(f"s{i}", data={f"k{j}": PASSWORD for j in range(5)}) for i in range(1000)]
    doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}
    text = kubectl_json(doc) if fmt == "json" else kubectl_yaml(doc)
    started = time.process_time()  # CPU time: a busy machine does not make it flaky
    out = redact_secrets("kubectl", ["get", "secrets", "-A", "-o", fmt], text)
    assert time.process_time() - started < 1.0
    assert PASSWORD not in out and out.count(REDACTED) == 5000


# --- refusals: output that no parser can redact -------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "get secret db -o jsonpath={.data.password}",
        "get secret db -ojsonpath={.data}",
        "get secret db --output=go-template={{.data}}",
        "get secret db --template={{.data}}",
        "get secret db -o template --template {{.data}}",
        "get secrets -o custom-columns=P:.data.password",
        "get secrets -o jsonpath-as-json={.items[*].data}",
        "get secret/db -o jsonpath={.data}",
        "get Secrets.v1. -o jsonpath={.items}",
        "get pods,secrets -o jsonpath={.items}",
        "-n prod get secret db -o=jsonpath={.data}",
        "create secret generic x --from-literal=a=b --dry-run=client -o jsonpath={.data}",
        "wait secret/db --for=create -o jsonpath={.data}",
        "get -f https://example.com/secret.yaml -o jsonpath={.data}",
        "get -f - -o jsonpath={.data}",
        "set env deploy/web --list --resolve",
    ],
)
def test_kubectl_text_output_of_secrets_is_refused(command: str) -> None:
    assert not secret_output_allowed("kubectl", command.split())


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        ("get secret db -o yaml", None),
        ("get secrets -o json", None),
        ("get secrets -o name", None),
        ("get secrets -o wide", None),
        ("get secrets", None),
        ("describe secret db", None),
        ("get pods -o jsonpath={.items[*].metadata.name}", None),
        ("get configmap cfg -o jsonpath={.data}", None),
        ("explain secret --output=plaintext-openapiv2", None),
        ("get --raw /api/v1/namespaces/a/secrets", None),
        ("apply -f - -o jsonpath={.metadata.name}", "kind: ConfigMap\nmetadata: {name: x}\n"),
        ("set env deploy/web --list", None),
        ("events --for secret/db -o jsonpath={.items}", None),
    ],
)
def test_kubectl_commands_that_stay_allowed(command: str, stdin: str | None) -> None:
    assert secret_output_allowed("kubectl", command.split(), stdin)


def test_stdin_with_a_secret_or_that_does_not_parse_is_refused() -> None:
    args = "apply -f - -o jsonpath={.data}".split()
    assert not secret_output_allowed("kubectl", args, kubectl_yaml(secret()))
    assert not secret_output_allowed("kubectl", args, "kind: [\n")
    assert not secret_output_allowed("kubectl", args, None)


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("get all web", False),
        ("get all web --template {{.Release.Manifest}}", False),
        ("install web repo/web --dry-run", False),
        ("install web repo/web --dry-run=server", False),
        ("install web repo/web --dry-run=client --hide-secret", False),
        ("upgrade web repo/web --debug", False),
        ("status web --debug", False),
        ("install web repo/web --dry-run=server -o json", True),
        ("upgrade --install web repo/web --dry-run -o yaml", True),
        ("install web repo/web --dry-run=none", True),
        ("install web repo/web", True),
        ("get manifest web", True),
        ("get hooks web", True),
        ("get values web", True),
        ("template web repo/web", True),
        ("list -A", True),
    ],
)
def test_helm_text_output_with_manifests_is_refused(command: str, allowed: bool) -> None:
    assert secret_output_allowed("helm", command.split()) is allowed


def test_other_tools_are_never_refused() -> None:
    assert secret_output_allowed("istioctl", ["proxy-config", "secret", "web"])
    assert secret_output_allowed("argocd", ["app", "manifests", "web", "--core"])
    assert secret_output_allowed("bash", ["-c", "id"])


def test_the_refusal_names_the_rule_and_what_to_do_and_never_a_value() -> None:
    with pytest.raises(PolicyDeniedError) as caught:
        check_secret_output("kubectl", ["get", "secret", "db", "-o", "jsonpath={.data.hunter2}"])
    body = error_body(caught.value)
    assert body["error"] == "denied" and body["status"] == 403 and body["rule"] == RULE
    assert "-o jsonpath" in body["detail"] and "-o yaml" in body["detail"]
    assert "hunter2" not in body["detail"]
    check_secret_output("kubectl", ["get", "secret", "db", "-o", "yaml"])  # no error
