"""The protocol's edges in raw JSON-RPC and HTTP, where no SDK client would go: a line that
is not JSON over stdio (-32700, once), GET and DELETE on a stateless /mcp (405 with
Allow), a body that is not JSON (415), and a legacy-era cancel that arrives on a POST of
its own: it stops the call of the same caller only, the child is gone within a second,
and the audit line and the in-flight gauge are right afterwards.

The hanging command is the fake CLI (a real binary does not hang on demand).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import READY_TIMEOUT
from tests.conftest import K8SMCP, Server, b64, k8smcp_env, make_kubeconfig, pid_alive

LEGACY = "2025-06-18"
TOKEN_A, TOKEN_B = "conformance-token-a", "conformance-token-b"
KC = b64(make_kubeconfig())


def _stdio_exchange(lines: list[str]) -> list[dict[str, Any]]:
    """Write ``lines`` to a fresh ``k8smcp stdio``, then close stdin; the JSON it answered."""
    done = subprocess.run(
        [K8SMCP, "stdio", "--kubeconfig-b64", KC],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        env=k8smcp_env(),
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_stdio_answers_a_line_that_is_not_json_once_and_keeps_serving() -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    answers = _stdio_exchange(["{not json", '{"hello": 1}', json.dumps(initialize)])
    assert [a.get("id") for a in answers] == [None, None, 1]  # one answer each, no more
    assert answers[0]["error"]["code"] == -32700
    assert answers[1]["error"]["code"] == -32600
    assert answers[2]["result"]["serverInfo"]["name"] == "k8smcp"


@pytest.fixture
def hang_server(fake_cli: Path, tmp_path: Path) -> Iterator[Server]:
    """A server whose kubectl is the fake CLI, with two callers' tokens."""
    env = k8smcp_env(
        K8SMCP_KUBECTL_BIN=str(fake_cli),
        K8SMCP_PASS_ENV="FAKE_PIDS",
        FAKE_PIDS=str(tmp_path / "pids"),
        K8SMCP_AUTH_TOKEN=f"{TOKEN_A},{TOKEN_B}",
        # the stand-in writes its pids outside its call directory, which confinement
        # forbids; a confined child killed whole is tests/security/test_confinement.py's
        K8SMCP_CONFINE="false",
    )
    server = Server(env=env, log=tmp_path / "serve.log", ready_timeout=READY_TIMEOUT)
    yield server
    server.stop()


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": LEGACY,
        "X-Kubeconfig": KC,
    }


def test_http_edges_of_a_stateless_server(hang_server: Any) -> None:
    url, headers = hang_server.mcp_url, _headers(TOKEN_A)
    for method in ("GET", "DELETE"):
        answer = httpx.request(method, url, headers=headers, timeout=10)
        assert answer.status_code == 405 and answer.headers["allow"] == "POST"
        assert answer.json()["error"]["message"].startswith(f"{method} is not served")
    plain = httpx.post(url, content="{}", headers={**headers, "Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["error"]["code"] == -32600
    unauthenticated = httpx.get(url, timeout=10)
    assert unauthenticated.status_code == 401  # the caller is known before anything else


def _metrics(server: Any) -> str:
    return httpx.get(f"{server.url}/metrics", timeout=10).text


def _sample(metrics: str, name: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_cancel_on_its_own_post_stops_only_the_same_callers_call(
    hang_server: Server, tmp_path: Path
) -> None:
    url, pids = hang_server.mcp_url, tmp_path / "pids"
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "kubectl", "arguments": {"command": "get hang"}},
    }
    events: list[str] = []

    def run_call() -> None:  # the call's own POST: an SSE stream that stays open
        with httpx.stream("POST", url, json=call, headers=_headers(TOKEN_A), timeout=60) as r:
            events.extend(line for line in r.iter_lines() if line.startswith("data:"))

    caller = threading.Thread(target=run_call)
    caller.start()
    deadline = time.monotonic() + 20
    while not (pids.exists() and pids.read_text()):
        assert time.monotonic() < deadline, "the fake CLI never started"
        time.sleep(0.05)
    parent, grandchild = map(int, pids.read_text().split())
    assert _sample(_metrics(hang_server), "k8smcp_calls_in_flight") == 1

    def cancel(token: str) -> httpx.Response:
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
        return httpx.post(url, json=note, headers=_headers(token), timeout=10)

    assert cancel(TOKEN_B).status_code == 202  # another caller names the same id
    time.sleep(1.5)
    assert pid_alive(parent) and pid_alive(grandchild), "another caller's cancel acted"

    assert cancel(TOKEN_A).status_code == 202
    sent = time.monotonic()
    while pid_alive(parent) or pid_alive(grandchild):
        assert time.monotonic() - sent < 1.0, "the child outlived the cancel by a second"
        time.sleep(0.02)
    caller.join(10)
    assert not caller.is_alive()
    answer = json.loads(events[-1].removeprefix("data:").strip())
    assert answer["id"] == 7 and answer["error"]["code"] == -32800

    metrics = _metrics(hang_server)
    assert _sample(metrics, "k8smcp_calls_in_flight") == 0
    assert 'outcome="cancelled"' in metrics
    audit = [json.loads(line[line.index("{") :]) for line in _audit_lines(hang_server)]
    assert [a["outcome"] for a in audit] == ["cancelled"] and audit[0]["args"] == ["get", "hang"]


def _audit_lines(server: Any) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in server.log.read_text().splitlines() if '"outcome"' in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)
