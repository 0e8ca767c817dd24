"""Secret values never leave `k8smcp serve` by default, whichever way they are asked for.

Invariant: with the serve defaults, a Secret printed by kubectl as JSON or YAML reaches
the caller over REST and MCP with its keys and without its values, and never reaches
the log; a format that would print values as text (jsonpath) is refused with rule
``secret-output``; `--no-redact-secrets` turns both off, and `run` (local level) does
not redact unless asked. kubectl is a stand-in that prints a fixed Secret, so no cluster
is needed: what is under test is the path from its stdout to the caller.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import b64, k8smcp_env, make_kubeconfig, run_k8smcp

VALUE = "aHVudGVyMi1uZXZlci1zaG93bg=="  # base64 of hunter2-never-shown
KC = b64(make_kubeconfig())

FAKE_KUBECTL = textwrap.dedent(
    """\
    #!{python}
    # Prints one Secret the way `kubectl get secret db -o json|yaml` does.
    import json, sys
    secret = {{
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {{"name": "db", "namespace": "default"}},
        "data": {{"password": "{value}"}},
        "type": "Opaque",
    }}
    if sys.argv[-1] == "yaml":
        print("apiVersion: v1\\nkind: Secret\\ndata:\\n  password: {value}\\nmetadata:\\n"
              "  name: db\\ntype: Opaque")
    else:
        print(json.dumps(secret, indent=4))
    """
)


@pytest.fixture(scope="module")
def fake_kubectl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fake-kubectl") / "kubectl"
    path.write_text(FAKE_KUBECTL.format(python=sys.executable, value=VALUE))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def server(start_module_server: Any, fake_kubectl: Path) -> Any:
    return start_module_server(env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_kubectl)))


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_rest_shows_keys_not_values(server: Any, fmt: str) -> None:
    response = server.post(
        "kubectl", {"command": f"get secret db -o {fmt}"}, headers={"X-Kubeconfig": KC}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] and VALUE not in response.text
    assert "password: <redacted>" in result["stdout"] or (
        json.loads(result["stdout"])["data"] == {"password": "<redacted>"}
    )


def test_mcp_shows_keys_not_values(server: Any) -> None:
    async def call() -> Any:
        async with httpx2.AsyncClient(headers={"X-Kubeconfig": KC}, timeout=60) as http:
            async with Client(streamable_http_client(server.mcp_url, http_client=http)) as c:
                return await c.call_tool("kubectl", {"command": "get secret db -o json"})

    result = anyio.run(call)
    assert not result.is_error
    assert VALUE not in json.dumps(result.structured_content)
    assert all(VALUE not in getattr(part, "text", "") for part in result.content)
    assert json.loads(result.content[0].text)["data"] == {"password": "<redacted>"}


@pytest.mark.parametrize(
    "command",
    [
        "get secret db -o jsonpath={.data.password}",
        "get secret db -o go-template={{.data.password}}",
        "get secrets -o custom-columns=P:.data.password",
    ],
)
def test_text_formats_on_secrets_are_refused(server: Any, command: str) -> None:
    response = server.post("kubectl", {"command": command}, headers={"X-Kubeconfig": KC})
    assert response.status_code == 403, response.text
    assert response.json()["rule"] == "secret-output"


def test_the_log_never_holds_the_value(server: Any) -> None:
    server.post("kubectl", {"command": "get secret db -o json"}, headers={"X-Kubeconfig": KC})
    assert VALUE not in server.log.read_text()


def test_no_redact_secrets_turns_it_off(start_server: Any, fake_kubectl: Path) -> None:
    server = start_server(
        "--no-redact-secrets", env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_kubectl))
    )
    sent = {"X-Kubeconfig": KC}
    shown = server.post("kubectl", {"command": "get secret db -o json"}, headers=sent)
    assert VALUE in shown.json()["stdout"]
    path = server.post("kubectl", {"command": "get secret db -o jsonpath={.data}"}, headers=sent)
    assert path.status_code == 200


def test_run_redacts_only_when_asked(fake_kubectl: Path) -> None:
    env = k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_kubectl), K8SMCP_KUBECONFIG_B64=KC)
    plain = run_k8smcp("run", "kubectl", "get", "secret", "db", "-o", "json", env=env)
    assert plain.returncode == 0, plain.stderr
    assert VALUE in plain.stdout
    asked = run_k8smcp(
        "run", "--redact-secrets", "kubectl", "get", "secret", "db", "-o", "json", env=env
    )
    assert asked.returncode == 0, asked.stderr
    assert VALUE not in asked.stdout and "<redacted>" in asked.stdout
