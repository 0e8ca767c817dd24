"""The HTTP server's own defences, against a real `k8smcp serve`: bearer auth, the
loopback-only default, Host/Origin checks, read-only mode, the busy answer, hostile
kubeconfig shapes, and policy denials in one shape through REST, MCP and `call`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import K8SMCP, b64, free_port, k8smcp_env, make_kubeconfig, run_k8smcp

TOKEN = "t0ken-for-tests"
KC = b64(make_kubeconfig())


def test_bearer_auth_guards_mcp_and_tools_but_not_health(start_server: Any) -> None:
    server = start_server(env=k8smcp_env(K8SMCP_AUTH_TOKEN=f"other,{TOKEN}"))
    body = {"command": "version --client", "kubeconfig": KC}
    assert httpx.get(f"{server.url}/health").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = server.post("kubectl", body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(f"{server.url}/tools").status_code == 401
    assert httpx.post(server.mcp_url, json={}).status_code == 401
    ok = server.post("kubectl", body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["ok"]


def test_call_with_and_without_the_token(start_server: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"\n{TOKEN}\n")
    server = start_server(env=k8smcp_env(K8SMCP_AUTH_TOKEN_FILE=str(token_file)))
    env = k8smcp_env(K8SMCP_KUBECONFIG_B64=KC, K8SMCP_URL=server.mcp_url)
    refused = run_k8smcp("call", "kubectl", "version", "--client", env=env)
    assert refused.returncode == 6
    assert "AuthenticationError" in refused.stderr and "HTTP 401" in refused.stderr
    done = run_k8smcp("call", "--token", TOKEN, "kubectl", "version", "--client", env=env)
    assert done.returncode == 0 and "Client Version" in done.stdout


def test_serve_refuses_to_listen_beyond_loopback_without_auth() -> None:
    done = subprocess.run(
        [K8SMCP, "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=k8smcp_env(),
        timeout=30,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in done.stderr


def test_host_and_origin_checks(start_server: Any) -> None:
    server = start_server()
    body = {"command": "version --client", "kubeconfig": KC}
    evil_host = server.post("kubectl", body, headers={"Host": "evil.example"})
    assert evil_host.status_code == 421 and evil_host.json()["error"] == "host_not_allowed"
    evil_origin = server.post("kubectl", body, headers={"Origin": "https://evil.example"})
    assert evil_origin.status_code == 403 and evil_origin.json()["error"] == "origin_not_allowed"
    mcp = httpx.post(server.mcp_url, json={}, headers={"Host": "evil.example"})
    assert mcp.status_code == 421
    fine = server.post("kubectl", body, headers={"Origin": f"http://localhost:{server.port}"})
    assert fine.status_code == 200
    named = start_server(env=k8smcp_env(K8SMCP_ALLOWED_HOSTS="k8smcp.tools.svc:*"))
    assert named.post("kubectl", body).status_code == 421  # 127.0.0.1 is no longer listed
    ok = named.post("kubectl", body, headers={"Host": f"k8smcp.tools.svc:{named.port}"})
    assert ok.status_code == 200


def test_policy_denials_have_one_shape_everywhere(start_server: Any, fake_cli: Path) -> None:
    server = start_server(env=k8smcp_env(K8SMCP_HELM_BIN=str(fake_cli)))  # helm is listed
    response = server.post(
        "kubectl", {"command": "get pods --server=https://evil:1", "kubeconfig": KC}
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "denied" and body["rule"] == "flag-target"
    assert "--server" in body["detail"]

    async def over_mcp() -> Any:
        async with httpx2.AsyncClient(headers={"X-Kubeconfig": KC}) as http:
            async with Client(streamable_http_client(server.mcp_url, http_client=http)) as c:
                return await c.call_tool("helm", {"command": "install x y --post-renderer /bin/sh"})

    result = anyio.run(over_mcp)
    assert result.is_error and result.structured_content["rule"] == "flag-binary"
    assert result.content[0].text.startswith("denied: ")
    done = run_k8smcp(
        "call",
        "--url",
        server.mcp_url,
        "kubectl",
        "proxy",
        env=k8smcp_env(K8SMCP_KUBECONFIG_B64=KC),
    )
    assert done.returncode == 4 and "PolicyDeniedError" in done.stderr


def test_exec_kubeconfig_is_refused_without_running_anything(
    start_server: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    config = make_kubeconfig()
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "/bin/sh",
            "args": ["-c", f"touch {marker}"],
        }
    }
    server = start_server()
    response = server.post("kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": b64(config)})
    assert response.status_code == 403
    body = response.json()
    assert body["rule"] == "kubeconfig-exec" and "users[0].user.exec" in body["detail"]
    assert str(marker) not in body["detail"]
    assert not marker.exists()


def test_yaml_alias_bomb_is_refused(start_server: Any) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    server = start_server()
    response = server.post("kubectl", {"command": "get ns", "kubeconfig": b64(bomb)})
    assert response.status_code == 400
    assert "YAML alias" in response.json()["detail"]


def test_read_only_mode(start_server: Any, fake_cli: Path) -> None:
    server = start_server("--read-only", env=k8smcp_env(K8SMCP_HELM_BIN=str(fake_cli)))
    ok = server.post("kubectl", {"command": "config get-contexts", "kubeconfig": KC})
    assert ok.status_code == 200 and ok.json()["ok"]
    denied = server.post("kubectl", {"command": "delete ns default", "kubeconfig": KC})
    assert denied.status_code == 403 and denied.json()["rule"] == "read-only"

    async def annotations() -> Any:
        async with Client(server.mcp_url) as c:
            return {t.name: t for t in (await c.list_tools()).tools}

    tools = anyio.run(annotations)
    assert tools["kubectl"].annotations.read_only_hint is True
    assert tools["kubectl"].annotations.destructive_hint is False
    assert "read-only" in tools["kubectl"].description
    assert "--repo URL" in tools["helm"].description  # server rules: no chart directories
    assert "first text block" not in tools["kubectl"].description
    assert "<redacted>" in tools["kubectl"].description


def test_default_mode_announces_destructive_tools(start_server: Any) -> None:
    server = start_server()

    async def annotations() -> Any:
        async with Client(server.mcp_url) as c:
            return (await c.list_tools()).tools[0].annotations

    hints = anyio.run(annotations)
    assert hints.destructive_hint is True and hints.read_only_hint is False


@pytest.mark.anyio
async def test_saturated_server_answers_429(start_server: Any, fake_cli: Path) -> None:
    server = start_server(
        "--max-concurrency",
        "1",
        "--queue-timeout",
        "0.5",
        env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli)),
    )
    statuses: list[int] = []

    async def one(command: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{server.url}/tools/kubectl", json={"command": command, "kubeconfig": KC}
            )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["error"] == "busy"

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "get sleep 2")
        await anyio.sleep(0.3)
        tg.start_soon(one, "get env")
    assert sorted(statuses) == [200, 429]


def test_json_audit_lines_name_the_rule(start_server: Any) -> None:
    server = start_server()
    server.post("kubectl", {"command": "port-forward svc/x 80", "kubeconfig": KC})
    server.stop()
    lines = [
        json.loads(line.split("k8smcp.audit: ", 1)[1])
        for line in server.log.read_text().splitlines()
        if "k8smcp.audit: " in line
    ]
    assert lines[0]["outcome"] == "denied" and lines[0]["rule"] == "verb-denied"


def test_address_policy_resolves_names_and_checks_literals(start_server: Any) -> None:
    """IP literals are checked on the spot, names once resolved (in a worker thread):
    both meet the operator's deny list, in the kubeconfig and in a command's URL."""
    server = start_server(env=k8smcp_env(K8SMCP_DENIED_SERVERS="127.0.0.0/8,::1/128"))
    elsewhere = make_kubeconfig("https://10.9.9.9:6443")
    cases = {
        "literal": ("get ns", make_kubeconfig("https://127.0.0.2:6443")),
        "name": ("get ns", make_kubeconfig("https://localhost:6443")),
        "url": ("apply -f https://localhost:1/x.yaml", elsewhere),
    }
    details = {}
    for case, (command, config) in cases.items():
        for _ in range(2):  # the second time the parse is remembered, the check is not
            response = server.post("kubectl", {"command": command, "kubeconfig": b64(config)})
            assert response.status_code == 403, (case, response.text)
            assert response.json()["rule"] == "address"
        details[case] = response.json()["detail"]
    assert "127.0.0.2 is on the operator's deny list" in details["literal"]
    assert "clusters[0].cluster.server" in details["name"]
    assert "localhost (127.0.0.1)" in details["name"] or "localhost (::1)" in details["name"]
    assert "-f" in details["url"] and "localhost (" in details["url"]
