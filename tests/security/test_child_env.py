"""An allowed exec plugin sees none of the server's own credentials; any other does not run.

Invariant: `k8smcp serve` runs with cloud credentials, an in-cluster service-account
token and its address in its environment (as it would in a pod with IRSA or a mounted
token). A kubeconfig whose user runs the allowed exec plugin gets that plugin run by
kubectl, but the plugin's environment (kubectl's, which is the server's child
environment) carries none of those names or values, and its HOME and KUBECONFIG are
the call's private ones. The same kubeconfig naming a shell, a path, or a plugin that is
not on K8SMCP_ALLOWED_EXEC_PLUGINS is refused (rule kubeconfig-exec) and nothing runs.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import BIN_DIR, Server, b64, free_port, k8smcp_env, leftovers

PLUGIN = "k8smcp-probe-plugin"
OTHER = "k8smcp-other-plugin"  # on PATH too, but not on the allowlist
AWS_SECRET = "aws-secret-access-key-never-in-a-child"
AWS_KEY_ID = "AKIAK8SMCPTESTNEVER"
SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token-never-in-a-child"
SERVER_HOME_MARK = "server-home"
MARK = "@@k8smcp-probe@@"

PROBE = textwrap.dedent(
    """\
    #!{python}
    # Reports the environment kubectl gave this exec plugin on stderr, which kubectl
    # passes on (a confined plugin may write nothing outside its call), then answers.
    import json, os, sys
    record = json.dumps({{"env": dict(os.environ), "argv": sys.argv, "name": "{name}"}})
    sys.stderr.write("{mark}" + record + "{mark}\\n")
    print(json.dumps({{
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {{"token": "x"}},
    }}))
    """
)


class Setup:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.bin = base / "bin"
        self.bin.mkdir()
        for name in (PLUGIN, OTHER):
            probe = self.bin / name
            probe.write_text(PROBE.format(python=sys.executable, mark=MARK, name=name))
            probe.chmod(0o755)
        self.sa_token_file = base / "serviceaccount" / "token"
        self.sa_token_file.parent.mkdir()
        self.sa_token_file.write_text(SA_TOKEN)
        self.private_tmp = base / "tmp"
        self.private_tmp.mkdir()
        self.server_home = base / SERVER_HOME_MARK
        self.server_home.mkdir()
        self.closed_port = free_port()

    @staticmethod
    def recorded(stderr: str) -> list[dict[str, Any]]:
        """What the probe reported, through kubectl's stderr."""
        return [json.loads(part) for part in stderr.split(MARK)[1::2]]

    def kubeconfig(self, **exec_fields: Any) -> str:
        exec_config = {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": PLUGIN,
            "interactiveMode": "Never",
            **exec_fields,
        }
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "c", "cluster": {"server": f"https://127.0.0.1:{self.closed_port}"}}
            ],
            "users": [{"name": "u", "user": {"exec": exec_config}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
        return b64(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(tmp_path_factory.mktemp("child-env"))


@pytest.fixture(scope="module")
def server(setup: Setup) -> Any:
    env = k8smcp_env(
        setup.private_tmp,
        PATH=os.pathsep.join([str(setup.bin), str(BIN_DIR), "/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=str(setup.server_home),
        K8SMCP_ALLOWED_EXEC_PLUGINS=PLUGIN,
        AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        AWS_ACCESS_KEY_ID=AWS_KEY_ID,
        AWS_WEB_IDENTITY_TOKEN_FILE=str(setup.sa_token_file),
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/k8smcp",
        GOOGLE_APPLICATION_CREDENTIALS=str(setup.sa_token_file),
        KUBERNETES_SERVICE_HOST="10.96.0.1",
        KUBERNETES_SERVICE_PORT="443",
        K8SMCP_TEST_SA_TOKEN=SA_TOKEN,
    )
    server = Server(env=env, log=setup.base / "serve.log")
    yield server
    server.stop()


def call(server: Server, kubeconfig: str) -> httpx.Response:
    return server.post("kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": kubeconfig})


def test_the_allowed_plugin_runs_and_sees_none_of_the_servers_credentials(
    server: Server, setup: Setup
) -> None:
    response = call(server, setup.kubeconfig())
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["exit_code"] == 1 and "connection refused" in result["stderr"]
    runs = setup.recorded(result["stderr"])
    assert runs, "kubectl never ran the allowed exec plugin"
    for run in runs:
        env: dict[str, str] = run["env"]
        assert "KUBERNETES_EXEC_INFO" in env  # it really is kubectl's exec plugin
        leaked = {
            name
            for name in env
            if name.startswith(("AWS_", "GOOGLE_", "KUBERNETES_SERVICE", "K8SMCP_"))
        }
        assert leaked == set()
        for value in env.values():
            for secret in (AWS_SECRET, AWS_KEY_ID, SA_TOKEN, str(setup.sa_token_file)):
                assert secret not in value
        assert SERVER_HOME_MARK not in env["HOME"]
        assert env["HOME"].startswith(str(setup.private_tmp))
        assert env["KUBECONFIG"].startswith(str(setup.private_tmp))
    assert leftovers(setup.private_tmp) == []


@pytest.mark.parametrize(
    "exec_fields",
    [
        {"command": "/bin/sh", "args": ["-c", "k8smcp-probe-plugin"]},
        {"command": "sh", "args": ["-c", "k8smcp-probe-plugin"]},
        {"command": OTHER},
        {"command": "PLUGIN_PATH"},  # the allowed plugin, by absolute path
        {"command": f"./{PLUGIN}"},
        {"env": [{"name": "PATH", "value": "/tmp"}]},
        {"env": [{"name": "LD_PRELOAD", "value": "/tmp/x.so"}]},
        {"args": ["--config", "/etc/passwd"]},
    ],
)
def test_any_other_plugin_is_refused_and_nothing_runs(
    server: Server, setup: Setup, exec_fields: dict[str, Any]
) -> None:
    if exec_fields.get("command") == "PLUGIN_PATH":
        exec_fields = {"command": str(setup.bin / PLUGIN)}
    response = call(server, setup.kubeconfig(**exec_fields))
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "denied" and body["rule"] == "kubeconfig-exec"
    assert "users[0].user.exec" in body["detail"]
    assert MARK not in response.text, "a refused plugin ran"
