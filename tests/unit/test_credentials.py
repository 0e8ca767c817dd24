"""Client-side credentials (k8smcp.credentials): one context, files inline, exec plugins run
here with the ExecCredential protocol, credentials cached until they expire.

The plugin is a real program (tests/plugins/k8smcp-test-plugin) that records each run.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8smcp import credentials, doctor
from k8smcp import kubeconfig as kc
from k8smcp.errors import KubeconfigError

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "k8smcp-test-plugin"
CA_PEM = b"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"
MAX = 256 * 1024


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plugin_exec(record: Path, *args: str, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [str(PLUGIN), "--record", str(record), *args],
        "interactiveMode": "Never",
    }
    spec.update(fields)
    return spec


def config(user: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {"colors": True},
        "clusters": [
            {"name": "prod", "cluster": cluster or {"server": "https://192.0.2.10:6443"}},
            {"name": "dev", "cluster": {"server": "https://192.0.2.20:6443"}},
        ],
        "users": [
            {"name": "me", "user": user},
            {"name": "other", "user": {"token": "other-secret"}},
        ],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "me", "namespace": "web"}},
            {"name": "dev", "context": {"cluster": "dev", "user": "other"}},
        ],
        "current-context": "dev",
    }


def parsed(data: dict[str, Any], context: str = "prod") -> kc.Kubeconfig:
    return kc.parse(yaml.safe_dump(data).encode(), context=context, max_bytes=MAX)


def runs(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_only_the_chosen_context_its_cluster_and_user_remain() -> None:
    found = parsed(config({"token": "mine"}))
    sent = credentials.self_contained(found, cache=None)
    assert sent.context == "prod"
    assert sent.data == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://192.0.2.10:6443"}}],
        "users": [{"name": "me", "user": {"token": "mine"}}],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "me", "namespace": "web"}}
        ],
        "current-context": "prod",
    }
    assert b"other-secret" not in sent.render() and b"192.0.2.20" not in sent.render()
    kc.parse(sent.render(), max_bytes=MAX)  # still a valid kubeconfig


def test_files_are_inlined_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(CA_PEM)
    (tmp_path / "pki" / "me.crt").write_bytes(b"CERT")
    (tmp_path / "pki" / "me.key").write_bytes(b"KEY")
    (tmp_path / "token").write_text("file-token\n")
    user = {"client-certificate": "pki/me.crt", "client-key": "pki/me.key"}
    data = config(
        user, {"server": "https://192.0.2.10:6443", "certificate-authority": "pki/ca.crt"}
    )
    data["users"][1]["user"] = {"tokenFile": "token"}
    data["contexts"][1]["context"]["cluster"] = "prod"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(data))
    found = kc.load_local(
        b64=None, path=str(path), env_kubeconfig=None, home=tmp_path, context="prod", max_bytes=MAX
    )
    assert found is not None
    sent = credentials.self_contained(found, cache=None)
    assert sent.data["clusters"][0]["cluster"] == {
        "server": "https://192.0.2.10:6443",
        "certificate-authority-data": b64(CA_PEM),
    }
    assert sent.data["users"][0]["user"] == {
        "client-certificate-data": b64(b"CERT"),
        "client-key-data": b64(b"KEY"),
    }
    other = credentials.self_contained(found.with_context("dev"), cache=None)
    assert other.data["users"] == [{"name": "other", "user": {"token": "file-token"}}]


def test_a_missing_file_is_a_kubeconfig_error(tmp_path: Path) -> None:
    found = parsed(config({"client-certificate": str(tmp_path / "gone.crt"), "client-key": "x"}))
    with pytest.raises(KubeconfigError, match="client-certificate that cannot be read"):
        credentials.self_contained(found, cache=None)


def test_inline_data_wins_over_a_file_and_a_token_over_a_token_file(tmp_path: Path) -> None:
    user = {"token": "inline", "tokenFile": str(tmp_path / "never-read")}
    cluster = {
        "server": "https://192.0.2.10:6443",
        "certificate-authority-data": b64(CA_PEM),
        "certificate-authority": str(tmp_path / "never-read"),
    }
    sent = credentials.self_contained(parsed(config(user, cluster)), cache=None)
    assert sent.data["users"][0]["user"] == {"token": "inline"}
    assert sent.data["clusters"][0]["cluster"]["certificate-authority-data"] == b64(CA_PEM)
    assert "certificate-authority" not in sent.data["clusters"][0]["cluster"]


def test_exec_plugin_runs_with_the_exec_credential_protocol(tmp_path: Path) -> None:
    record = tmp_path / "runs"
    spec = plugin_exec(
        record,
        "--token",
        "minted",
        provideClusterInfo=True,
        env=[{"name": "K8SMCP_TEST_PLUGIN_ENV", "value": "from-kubeconfig"}],
    )
    cluster = {
        "server": "https://192.0.2.10:6443",
        "certificate-authority-data": b64(CA_PEM),
        "tls-server-name": "prod",
        "extensions": [
            {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "prod"}}
        ],
    }
    sent = credentials.self_contained(
        parsed(config({"exec": spec, "as": "someone"}, cluster)), cache=None, interactive=True
    )
    assert sent.data["users"][0]["user"] == {"token": "minted", "as": "someone"}
    [ran] = runs(record)
    assert ran["extra_env"] == "from-kubeconfig"
    assert ran["exec_info"] == {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {
            "interactive": False,  # interactiveMode Never
            "cluster": {
                "server": "https://192.0.2.10:6443",
                "tls-server-name": "prod",
                "certificate-authority-data": b64(CA_PEM),
                "config": {"audience": "prod"},
            },
        },
    }
    assert ran["stdin_tty"] is False


def test_without_provide_cluster_info_the_plugin_sees_no_cluster(tmp_path: Path) -> None:
    record = tmp_path / "runs"
    spec = plugin_exec(record, "--token", "t", apiVersion="client.authentication.k8s.io/v1beta1")
    del spec["interactiveMode"]  # optional in v1beta1 (IfAvailable)
    credentials.self_contained(parsed(config({"exec": spec})), cache=None, interactive=False)
    [ran] = runs(record)
    assert ran["exec_info"]["spec"] == {"interactive": False}
    assert ran["exec_info"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_a_client_certificate_from_the_plugin_is_inlined(tmp_path: Path) -> None:
    (tmp_path / "client.crt").write_text("PEM-CERT")
    (tmp_path / "client.key").write_text("PEM-KEY")
    spec = plugin_exec(tmp_path / "runs", "--cert-dir", str(tmp_path))
    sent = credentials.self_contained(parsed(config({"exec": spec})), cache=None)
    assert sent.data["users"][0]["user"] == {
        "client-certificate-data": b64(b"PEM-CERT"),
        "client-key-data": b64(b"PEM-KEY"),
    }


def test_credentials_are_cached_privately_until_they_expire(tmp_path: Path) -> None:
    record, cache = tmp_path / "runs", tmp_path / "cache" / "k8smcp" / "credentials"
    found = parsed(config({"exec": plugin_exec(record, "--token", "t1", "--expires-in", "3600")}))
    for _ in range(3):
        sent = credentials.self_contained(found, cache=cache)
        assert sent.data["users"][0]["user"] == {"token": "t1"}
    assert len(runs(record)) == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    [cached] = list(cache.iterdir())
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    # the cached credential expires (as time passing would make it): minted again
    status = json.loads(cached.read_text())
    status["expirationTimestamp"] = "2020-01-01T00:00:00Z"
    cached.write_text(json.dumps(status))
    credentials.self_contained(found, cache=cache)
    assert len(runs(record)) == 2
    assert json.loads(cached.read_text())["expirationTimestamp"] > "2026"


def test_another_cloud_identity_in_the_environment_mints_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, cache = tmp_path / "runs", tmp_path / "cache"
    found = parsed(config({"exec": plugin_exec(record, "--token", "t", "--expires-in", "3600")}))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    credentials.self_contained(found, cache=cache)
    credentials.self_contained(found, cache=cache)
    monkeypatch.setenv("AWS_PROFILE", "prod")
    credentials.self_contained(found, cache=cache)
    monkeypatch.setenv("SOMETHING_ELSE", "x")  # not an identity: the cache still serves
    credentials.self_contained(found, cache=cache)
    assert len(runs(record)) == 2


def test_nothing_is_cached_without_an_expiry_or_past_it(tmp_path: Path) -> None:
    record, cache = tmp_path / "runs", tmp_path / "cache"
    for args in (["--token", "t"], ["--token", "t", "--expires-in", "-60"]):
        found = parsed(config({"exec": plugin_exec(record, *args)}))
        credentials.self_contained(found, cache=cache)
        credentials.self_contained(found, cache=cache)
    assert len(runs(record)) == 4


def test_a_cache_file_others_can_read_is_not_trusted(tmp_path: Path) -> None:
    record, cache = tmp_path / "runs", tmp_path / "cache"
    found = parsed(config({"exec": plugin_exec(record, "--token", "t", "--expires-in", "3600")}))
    credentials.self_contained(found, cache=cache)
    [cached] = list(cache.iterdir())
    cached.write_text(cached.read_text().replace('"t"', '"planted"'))
    os.chmod(cached, 0o644)
    sent = credentials.self_contained(found, cache=cache)
    assert sent.data["users"][0]["user"] == {"token": "t"}
    assert len(runs(record)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interactiveMode": None}, "interactiveMode is required"),
        ({"interactiveMode": "Always"}, "needs a terminal"),
        ({"apiVersion": "client.authentication.k8s.io/v1alpha1"}, "is not supported"),
        ({"args": [str(PLUGIN), "--exit", "3", "--token", "SECRET"]}, "failed with exit code 3"),
        ({"args": [str(PLUGIN), "--api-version", "v9"]}, "answered with apiVersion 'v9'"),
        ({"args": [str(PLUGIN)]}, "neither a token nor a certificate"),
        (
            {"command": "k8smcp-no-such-plugin", "installHint": "install it from example.com"},
            "'k8smcp-no-such-plugin' is not installed here: install it from example.com",
        ),
    ],
)
def test_plugin_failures_are_kubeconfig_errors(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    spec = {**plugin_exec(tmp_path / "runs"), **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(KubeconfigError, match=message) as raised:
        credentials.self_contained(parsed(config({"exec": spec})), cache=None, interactive=False)
    assert "SECRET" not in raised.value.message


def test_doctor_judges_what_call_sends_without_running_the_plugin(tmp_path: Path) -> None:
    record = tmp_path / "runs"
    data = config({"exec": plugin_exec(record, "--token", "t")})
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(data))
    checks = doctor.check_local_kubeconfig(path=path, context="prod")
    by_name = {c.name: c for c in checks}
    assert by_name["exec plugin"].status == "ok"
    assert "runs here for k8smcp call" in by_name["exec plugin"].detail
    # sent as it is (REST, MCP clients): refused; as call sends it: accepted
    assert by_name["server policy"].status == "warn"
    assert "kubeconfig-exec" in by_name["server policy"].detail
    assert by_name["call"].status == "ok"
    assert by_name["call"].detail == (
        "k8smcp call sends context 'prod' only, files inline, the plugin's credential in "
        "place of the plugin: a server at default settings accepts it"
    )
    assert not record.exists()


def test_doctor_warns_about_a_plugin_that_is_not_installed(tmp_path: Path) -> None:
    spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "k8smcp-no-such-plugin",
        "interactiveMode": "Never",
        "installHint": "brew install it",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config({"exec": spec})))
    checks = doctor.check_local_kubeconfig(path=path, context="prod")
    plugin = next(c for c in checks if c.name == "exec plugin")
    assert plugin.status == "warn" and "brew install it" in plugin.detail
