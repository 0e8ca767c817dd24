"""Cloud-style kubeconfigs through `k8smcp call` and `run`, against the testbed (issue 17).

`call` turns the local kubeconfig into a self-contained one for the chosen context before
sending it: it runs the user's exec plugin on the client (the server, at server level,
refuses exec), inlines files, and sends nothing of the other contexts. The plugin is
tests/plugins/k8smcp-test-plugin, a stand-in for `aws eks get-token`: it prints an
ExecCredential holding the testbed's ServiceAccount token and records each run.

An operator can instead let the server run a named plugin with the server's own workload
identity (IRSA, GKE workload identity): `--allowed-exec-plugins` plus `--pass-env` for the
identity's variables; the stand-in plugin reads its token from the file such a variable
names, as the AWS CLI reads AWS_WEB_IDENTITY_TOKEN_FILE.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import Server, run_k8smcp
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
PLUGIN = "k8smcp-test-plugin"
IDENTITY_ENV = "K8SMCP_TEST_IDENTITY_TOKEN_FILE"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def viewer_name(cluster: Cluster) -> str:
    return f"system:serviceaccount:{cluster.marker_namespace}:viewer"


def whoami(done: Any) -> str:
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["exit_code"] == 0, result["stderr"]
    return str(json.loads(result["stdout"])["status"]["userInfo"]["username"])


def runs(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def audit(server: Server) -> list[dict[str, Any]]:
    lines = []
    for line in server.log.read_text().splitlines():
        try:
            entry = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if isinstance(entry, dict) and "outcome" in entry:
            lines.append(entry)
    return lines


@pytest.fixture
def client_env(testbed_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A user's shell: the stand-in plugin on PATH, a home and cache of its own."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        **testbed_env,
        "PATH": f"{PLUGINS}{os.pathsep}{testbed_env['PATH']}",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "K8SMCP_TEST_SIDE": "client",
    }


@pytest.fixture
def token_file(cluster_a: Cluster, tmp_path: Path) -> Path:
    """The testbed's ServiceAccount token, where a workload identity would keep it."""
    path = tmp_path / "identity-token"
    path.write_text(load(cluster_a.viewer_kubeconfig)["users"][0]["user"]["token"])
    return path


def exec_kubeconfig(
    cluster: Cluster, record: Path, token_file: Path, *extra_args: str
) -> dict[str, Any]:
    data = load(cluster.admin_kubeconfig)
    data["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": PLUGIN,
            "args": ["--record", str(record), "--identity-env", IDENTITY_ENV, *extra_args],
            "env": [{"name": IDENTITY_ENV, "value": str(token_file)}],
            "interactiveMode": "IfAvailable",
            "provideClusterInfo": True,
            "installHint": "it is in tests/plugins",
        }
    }
    return data


def call(env: dict[str, str], server: Server, kubeconfig: Path, *args: str) -> Any:
    return run_k8smcp(
        "call", "--url", server.mcp_url, "--kubeconfig", str(kubeconfig), "--json", *args, env=env
    )


def test_exec_plugin_runs_on_the_client_and_the_server_gets_its_token(
    cluster_a: Cluster,
    testbed_server: Server,
    client_env: dict[str, str],
    token_file: Path,
    tmp_path: Path,
) -> None:
    record = tmp_path / "plugin-runs"
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(exec_kubeconfig(cluster_a, record, token_file, "--expires-in", "3600"))
    )

    assert whoami(
        call(client_env, testbed_server, config, "kubectl", "auth", "whoami", "-o", "json")
    ) == viewer_name(cluster_a)
    [ran] = runs(record)
    assert ran["side"] == "client"  # only the client's environment has K8SMCP_TEST_SIDE
    assert ran["exec_info"]["apiVersion"] == "client.authentication.k8s.io/v1"
    assert ran["exec_info"]["spec"]["interactive"] is False  # stdin is not a terminal
    assert ran["exec_info"]["spec"]["cluster"]["server"] == cluster_a.server

    # cached until it expires: the next call does not run the plugin again
    again = call(client_env, testbed_server, config, "kubectl", "auth", "whoami", "-o", "json")
    assert whoami(again) == viewer_name(cluster_a)
    assert len(runs(record)) == 1
    assert audit(testbed_server)[-1]["cluster"] == urlsplit(cluster_a.server).netloc

    # the same kubeconfig sent as it is: the server refuses the plugin and runs nothing
    raw = testbed_server.post(
        "kubectl", {"command": "auth whoami"}, headers={"X-Kubeconfig": b64(config.read_text())}
    )
    assert raw.status_code == 403 and raw.json()["rule"] == "kubeconfig-exec"
    assert len(runs(record)) == 1


def test_an_expired_credential_is_minted_again(
    cluster_a: Cluster,
    testbed_server: Server,
    client_env: dict[str, str],
    token_file: Path,
    tmp_path: Path,
) -> None:
    record = tmp_path / "plugin-runs"
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(exec_kubeconfig(cluster_a, record, token_file, "--expires-in", "3600"))
    )
    args = ("kubectl", "auth", "whoami", "-o", "json")
    assert whoami(call(client_env, testbed_server, config, *args)) == viewer_name(cluster_a)
    cache = Path(client_env["XDG_CACHE_HOME"]) / "k8smcp" / "credentials"
    [cached] = list(cache.iterdir())
    assert cached.stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    status = json.loads(cached.read_text())
    status["expirationTimestamp"] = "2020-01-01T00:00:00Z"  # as time passing would make it
    cached.write_text(json.dumps(status))
    assert whoami(call(client_env, testbed_server, config, *args)) == viewer_name(cluster_a)
    assert len(runs(record)) == 2
    assert json.loads(cached.read_text())["expirationTimestamp"] > "2026"

    # a plugin whose credentials are already expired when they arrive is run every time
    config.write_text(
        yaml.safe_dump(exec_kubeconfig(cluster_a, record, token_file, "--expires-in", "-60"))
    )
    for _ in range(2):
        assert whoami(call(client_env, testbed_server, config, *args)) == viewer_name(cluster_a)
    assert len(runs(record)) == 4


def test_a_failing_plugin_is_a_kubeconfig_error_before_anything_is_sent(
    cluster_a: Cluster,
    testbed_server: Server,
    client_env: dict[str, str],
    token_file: Path,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    before = len(audit(testbed_server))
    config.write_text(
        yaml.safe_dump(exec_kubeconfig(cluster_a, tmp_path / "r", token_file, "--exit", "2"))
    )
    done = call(client_env, testbed_server, config, "kubectl", "get", "ns")
    assert done.returncode == 3
    assert json.loads(done.stdout)["detail"] == f"exec plugin {PLUGIN!r} failed with exit code 2"
    missing = exec_kubeconfig(cluster_a, tmp_path / "r", token_file)
    missing["users"][0]["user"]["exec"]["command"] = "k8smcp-no-such-plugin"
    config.write_text(yaml.safe_dump(missing))
    done = run_k8smcp(
        "call",
        "--url",
        testbed_server.mcp_url,
        "--kubeconfig",
        str(config),
        "kubectl",
        "get",
        "ns",
        env=client_env,
    )
    assert done.returncode == 3
    assert (
        "KubeconfigError: exec plugin 'k8smcp-no-such-plugin' is not installed here: "
        "it is in tests/plugins" in done.stderr
    )
    assert len(audit(testbed_server)) == before


def test_file_based_certificates_and_token_files_work_through_call(
    cluster_a: Cluster,
    testbed_server: Server,
    client_env: dict[str, str],
    token_file: Path,
    tmp_path: Path,
) -> None:
    admin = load(cluster_a.admin_kubeconfig)
    pki = tmp_path / "pki"
    pki.mkdir()
    cluster = admin["clusters"][0]["cluster"]
    user = admin["users"][0]["user"]
    for name, data in (
        ("ca.crt", cluster.pop("certificate-authority-data")),
        ("admin.crt", user.pop("client-certificate-data")),
        ("admin.key", user.pop("client-key-data")),
    ):
        (pki / name).write_bytes(base64.b64decode(data))
    cluster["certificate-authority"] = "pki/ca.crt"  # relative to the kubeconfig's directory
    user["client-certificate"] = "pki/admin.crt"
    user["client-key"] = str(pki / "admin.key")
    admin["users"].append({"name": "viewer", "user": {"tokenFile": str(token_file)}})
    admin["contexts"].append(
        {"name": "viewer", "context": {"cluster": admin["clusters"][0]["name"], "user": "viewer"}}
    )
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump(admin))

    expected = json.loads(cluster_a.kubectl("auth", "whoami", "-o", "json").stdout)
    done = call(client_env, testbed_server, config, "kubectl", "auth", "whoami", "-o", "json")
    assert whoami(done) == expected["status"]["userInfo"]["username"]
    viewer = run_k8smcp(
        "call",
        "--url",
        testbed_server.mcp_url,
        "--kubeconfig",
        str(config),
        "--context",
        "viewer",
        "--json",
        "kubectl",
        "auth",
        "whoami",
        "-o",
        "json",
        env=client_env,
    )
    assert whoami(viewer) == viewer_name(cluster_a)

    # sent as it is, the file names are refused by the server
    raw = testbed_server.post(
        "kubectl", {"command": "auth whoami"}, headers={"X-Kubeconfig": b64(config.read_text())}
    )
    assert raw.status_code == 403 and raw.json()["rule"] == "kubeconfig-file"


def test_only_the_chosen_context_is_sent(
    cluster_a: Cluster,
    cluster_b: Cluster,
    testbed_server: Server,
    client_env: dict[str, str],
    tmp_path: Path,
) -> None:
    a, b = load(cluster_a.admin_kubeconfig), load(cluster_b.admin_kubeconfig)
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": a["clusters"] + b["clusters"],
        "users": a["users"] + b["users"],
        "contexts": a["contexts"] + b["contexts"],
        "current-context": a["current-context"],
        "preferences": {},
    }
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump(merged))
    chosen = b["contexts"][0]["name"]
    base = ("call", "--url", testbed_server.mcp_url, "--kubeconfig", str(config), "--json")

    # what the server received, as its own kubectl reads it
    done = run_k8smcp(
        *base, "--context", chosen, "kubectl", "config", "view", "-o", "json", env=client_env
    )
    assert done.returncode == 0, done.stderr
    received = json.loads(json.loads(done.stdout)["stdout"])
    assert [c["name"] for c in received["contexts"]] == [chosen]
    assert [c["name"] for c in received["clusters"]] == [b["clusters"][0]["name"]]
    assert [u["name"] for u in received["users"]] == [b["users"][0]["name"]]
    assert received["current-context"] == chosen
    assert cluster_a.server not in done.stdout

    marker = run_k8smcp(
        *base,
        "--context",
        chosen,
        "kubectl",
        "get",
        "ns",
        cluster_b.marker_namespace,
        env=client_env,
    )
    assert json.loads(marker.stdout)["exit_code"] == 0
    assert audit(testbed_server)[-1]["cluster"] == urlsplit(cluster_b.server).netloc


def test_run_lets_kubectl_run_the_plugin_itself(
    cluster_a: Cluster, client_env: dict[str, str], token_file: Path, tmp_path: Path
) -> None:
    record = tmp_path / "plugin-runs"
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(exec_kubeconfig(cluster_a, record, token_file, "--expires-in", "3600"))
    )
    for _ in range(2):
        done = run_k8smcp(
            "run",
            "--kubeconfig",
            str(config),
            "--json",
            "kubectl",
            "auth",
            "whoami",
            "-o",
            "json",
            env={**client_env, "K8SMCP_CONFINE": "false"},  # the plugin writes its record
        )
        assert whoami(done) == viewer_name(cluster_a)
    # kubectl ran it (with the call's allowlisted environment), once per process
    assert [r["side"] for r in runs(record)] == [None, None]
    assert not (Path(client_env["XDG_CACHE_HOME"]) / "k8smcp" / "credentials").exists()


def rotate(volume: Path, token: str, generation: str) -> None:
    """Write ``token`` as the kubelet updates a projected volume: a new directory behind
    ``..data``, swapped in with one rename, the old one removed."""
    (volume / generation).mkdir()
    (volume / generation / "token").write_text(token)
    old = os.readlink(volume / "..data") if (volume / "..data").is_symlink() else None
    (volume / "..data_tmp").symlink_to(generation)
    os.rename(volume / "..data_tmp", volume / "..data")
    if old is not None:
        (volume / old / "token").unlink()
        (volume / old).rmdir()
    else:
        (volume / "token").symlink_to("..data/token")


@pytest.fixture
def identity_volume(cluster_a: Cluster, tmp_path: Path) -> Path:
    """The testbed's ServiceAccount token in a projected volume, as IRSA mounts it."""
    volume = tmp_path / "eks.amazonaws.com" / "serviceaccount"
    volume.mkdir(parents=True)
    rotate(volume, load(cluster_a.viewer_kubeconfig)["users"][0]["user"]["token"], "..2026_1")
    return volume


@pytest.fixture
def identity_server(
    testbed_env: dict[str, str], identity_volume: Path, tmp_path: Path
) -> Iterator[Server]:
    """A confined server allowed to run the stand-in plugin with its own 'workload identity'."""
    env = {
        **testbed_env,
        "PATH": f"{PLUGINS}{os.pathsep}{testbed_env['PATH']}",
        # as EKS sets AWS_WEB_IDENTITY_TOKEN_FILE for IRSA
        IDENTITY_ENV: str(identity_volume / "token"),
        "K8SMCP_TEST_PLUGIN_RECORD": "-",  # stderr: a confined plugin may write no file
        "K8SMCP_ALLOWED_EXEC_PLUGINS": PLUGIN,
        "K8SMCP_PASS_ENV": f"{IDENTITY_ENV},K8SMCP_TEST_PLUGIN_RECORD",
        "K8SMCP_CONFINE": "true",  # serve's default, said: the token file is read confined
    }
    server = Server(env=env, log=tmp_path / "identity-serve.log")
    try:
        yield server
    finally:
        server.stop()


def test_an_allowed_plugin_runs_on_the_server_with_the_servers_identity(
    cluster_a: Cluster, identity_server: Server, identity_volume: Path, testbed_server: Server
) -> None:
    config = load(cluster_a.admin_kubeconfig)
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": PLUGIN,
            "args": ["--identity-env", IDENTITY_ENV],
            "interactiveMode": "Never",
        }
    }
    sent = {"X-Kubeconfig": b64(yaml.safe_dump(config))}

    def as_whom() -> tuple[str, list[dict[str, Any]]]:
        response = identity_server.post("kubectl", {"command": "auth whoami -o json"}, headers=sent)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["exit_code"] == 0, result["stderr"]
        ran = [json.loads(line) for line in result["stderr"].splitlines() if line.startswith("{")]
        return json.loads(result["stdout"])["status"]["userInfo"]["username"], ran

    user, [ran] = as_whom()
    assert user == viewer_name(cluster_a)
    assert ran["side"] is None and ran["exec_info"]["spec"]["interactive"] is False
    # the kubelet rotates the token: a new file behind the same path is readable too
    rotate(identity_volume, (identity_volume / "token").read_text(), "..2026_2")
    assert as_whom()[0] == viewer_name(cluster_a)

    # a server that does not allow it refuses it, and so does the allowing one by path
    refused = testbed_server.post("kubectl", {"command": "auth whoami"}, headers=sent)
    assert refused.status_code == 403 and refused.json()["rule"] == "kubeconfig-exec"
    config["users"][0]["user"]["exec"]["command"] = str(PLUGINS / PLUGIN)
    by_path = identity_server.post(
        "kubectl", {"command": "auth whoami"}, headers={"X-Kubeconfig": b64(yaml.safe_dump(config))}
    )
    assert by_path.status_code == 403 and "by bare name" in by_path.json()["detail"]
