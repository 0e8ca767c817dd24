"""Issue 14's argv classes through a real ``k8smcp serve`` (REST and MCP HTTP).

- class 4: a huge command is refused before it is split, and /health keeps answering
  while one is handled, at 512 KiB and at the body cap;
- class 5: a kubeconfig with keys or values JSON cannot carry, and an argument longer
  than the OS accepts (E2BIG), are clear 400s, not 500s;
- class 6: the audit line keeps no secret-looking ``KEY=VALUE``;
- class 7: a cluster without a server is refused, and nothing runs for it.

Real kubectl runs (against a closed loopback port) wherever a call gets that far.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import Server, b64, k8smcp_env, leftovers, make_kubeconfig

HUGE = 512 * 1024
AT_CAP = 4 * 1024 * 1024 - 64 * 1024  # just under the default 4 MiB body cap


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("k8smcp-tmp")
    server = Server(env=k8smcp_env(tmp), log=tmp_path_factory.mktemp("serve") / "serve.log")
    server.tmp = tmp
    try:
        yield server
    finally:
        server.stop()


def kubeconfig_header(closed_port: int = 1) -> dict[str, str]:
    return {"X-Kubeconfig": b64(make_kubeconfig(f"https://127.0.0.1:{closed_port}"))}


# --- class 4: a huge command stalls no one ------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "get pods " + "a" * HUGE,  # one long word: quadratic in shlex
        "get pods " + "'" + "a " * (HUGE // 2),  # an unclosed quote at the very end
        "get " + "x " * (HUGE // 2),  # many words
        "get pods " + "b" * AT_CAP,  # at the body cap
    ],
    ids=["one-word", "unclosed-quote", "many-words", "at-body-cap"],
)
def test_a_huge_command_is_refused_and_health_keeps_answering(server: Server, command: str):
    gaps: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=30) as http:
            while not done.is_set():
                started = time.monotonic()
                assert http.get(f"{server.url}/health").status_code == 200
                gaps.append(time.monotonic() - started)
                time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        time.sleep(0.2)
        response = server.post("kubectl", {"command": command}, headers=kubeconfig_header())
    finally:
        time.sleep(0.2)
        done.set()
        poller.join()
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_command" and "longer than 65536 bytes" in body["detail"]
    assert len(gaps) >= 10 and max(gaps) < 0.5, max(gaps)


def test_a_command_just_under_the_cap_is_checked_off_the_event_loop(server: Server):
    """60 KiB of words is split and parsed (in a worker thread) and then refused."""
    response = server.post(
        "kubectl", {"command": "get pods " + "x " * 30_000 + ";"}, headers=kubeconfig_header()
    )
    assert response.status_code == 403 and response.json()["rule"] == "shell"


# --- class 5: clear 400s -------------------------------------------------------------


def _config_with(line: str) -> str:
    """A valid kubeconfig as YAML (JSON values), with ``line`` added at the top."""
    fields = make_kubeconfig("https://127.0.0.1:1").items()
    text = "\n".join([line, *(f"{key}: {json.dumps(value)}" for key, value in fields)])
    return base64.b64encode(text.encode()).decode()


ODD_KUBECONFIGS = {
    "timestamp-key": "!!timestamp 2020-01-01: x",
    "binary-key": "? !!binary aGk=\n: x",
    "int-key": "1: x",
    "binary-value": "preferences: !!binary aGk=",
    "set-value": "preferences: !!set {a, b}",
    "timestamp-value": "preferences: !!timestamp 2020-01-01",
}


@pytest.mark.parametrize("case", ODD_KUBECONFIGS)
def test_a_kubeconfig_json_cannot_carry_is_a_400(server: Server, case: str):
    sent = _config_with(ODD_KUBECONFIGS[case])
    response = server.post("kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": sent})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_kubeconfig"


def test_a_date_is_a_string_as_in_go(server: Server):
    sent = _config_with("preferences: {colors: 2020-01-01}")
    response = server.post("kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": sent})
    assert response.status_code == 200 and response.json()["exit_code"] != 0  # kubectl ran


@pytest.mark.parametrize(
    "command",
    [
        "get pods '" + "x y" * (70 * 1024) + "'",  # one argument over MAX_ARG_STRLEN (128 KiB)
        "get pods \ud800",  # a lone surrogate (JSON "\\ud800"), which no argument can carry
    ],
    ids=["e2big", "surrogate"],
)
def test_a_command_exec_would_refuse_is_a_400(server: Server, command: str):
    response = httpx.post(  # json.dumps escapes the surrogate, as any JSON client may send it
        f"{server.url}/tools/kubectl",
        content=json.dumps({"command": command}),
        headers={"content-type": "application/json", **kubeconfig_header()},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    # the request model may refuse the surrogate before the command is split
    assert response.json()["error"] in ("invalid_command", "invalid_request")


def test_the_same_over_mcp_is_a_tool_error_not_a_crash(server: Server):
    async def go() -> list[Any]:
        headers = kubeconfig_header()
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(streamable_http_client(server.mcp_url, http_client=http)) as c:
                return [
                    await c.call_tool("kubectl", {"command": "get '" + "x" * (200 * 1024) + "'"}),
                    await c.call_tool("kubectl", {"command": "get " + "a" * HUGE}),
                ]

    for result in anyio.run(go):
        assert result.is_error
        assert (result.structured_content or {}).get("error") == "invalid_command"


# --- class 6 and 7: the audit line, and a cluster without a server -------------------


def test_the_audit_line_keeps_no_secret_looking_value_and_no_server_means_refusal(
    tmp_path: Any,
):
    tmp = tmp_path / "k8smcp-tmp"
    tmp.mkdir()
    server = Server(env=k8smcp_env(tmp), log=tmp_path / "serve.log")
    try:
        values = ["hunter2-db", "tok-abc-123", "s3cr3t-key", "pgpass-value"]
        command = (
            f"set env deploy/x DB_PASSWORD={values[0]} GITHUB_TOKEN={values[1]} "
            f"--env=AWS_SECRET_ACCESS_KEY={values[2]} LOG_LEVEL=debug -- PGPASS={values[3]}"
        )
        response = server.post("kubectl", {"command": command}, headers=kubeconfig_header())
        assert response.status_code == 200  # kubectl ran (and failed to connect)
        no_server = make_kubeconfig("https://127.0.0.1:1")
        no_server["clusters"][0]["cluster"]["server"] = ""
        refused = server.post(
            "kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": b64(no_server)}
        )
        assert refused.status_code == 403 and refused.json()["rule"] == "address"
        assert "localhost:8080" in refused.json()["detail"]
        assert leftovers(tmp) == []  # nothing ran for the refused call
    finally:
        server.stop()
    log = server.log.read_text()
    audit = [
        json.loads(line.split("k8smcp.audit: ", 1)[1])
        for line in log.splitlines()
        if "k8smcp.audit: " in line
    ]
    assert [a["outcome"] for a in audit] == ["failed", "denied"]
    assert "DB_PASSWORD=<redacted>" in audit[0]["args"] and "LOG_LEVEL=debug" in audit[0]["args"]
    assert not [v for v in values if v in log]


# --- class 7: loopback when serving beyond loopback ----------------------------------


def test_loopback_is_refused_when_serve_listens_beyond_loopback(tmp_path: Any):
    canary = socket.socket()
    canary.bind(("127.0.0.1", 0))
    canary.listen()
    canary.settimeout(0.5)
    port = canary.getsockname()[1]
    env = k8smcp_env(tmp_path, K8SMCP_AUTH_TOKEN="t0ken")
    server = Server("--host", "0.0.0.0", env=env, log=tmp_path / "serve.log")
    try:
        auth = {"Authorization": "Bearer t0ken"}
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "localhost", "127.9.9.9"):
            response = server.post(
                "kubectl",
                {"command": "get ns"},
                headers={**auth, **kubeconfig_header_for(f"https://{host}:{port}")},
            )
            assert response.status_code == 403, response.text
            assert response.json()["rule"] == "address" and "loopback" in response.json()["detail"]
        with pytest.raises(TimeoutError):
            canary.accept()  # nothing connected
    finally:
        server.stop()
        canary.close()


def kubeconfig_header_for(server: str) -> dict[str, str]:
    return {"X-Kubeconfig": b64(make_kubeconfig(server))}
