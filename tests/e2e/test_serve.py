"""`k8smcp serve` as a real process on a free port, reached by httpx (REST), the SDK's
streamable HTTP client (MCP), and `k8smcp call` (a subprocess), with real kubectl."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import (
    SECRET_TOKEN,
    b64,
    k8smcp_env,
    leftovers,
    make_kubeconfig,
    pid_alive,
    run_k8smcp,
)

SERVER_PATH = "config view -o jsonpath='{.clusters[0].cluster.server}'"


@pytest.fixture(scope="module")
def server(start_module_server: Any) -> Any:
    """One plain server for the tests that need no settings of their own."""
    return start_module_server()


async def mcp_call(
    url: str, tool: str, arguments: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    async with httpx2.AsyncClient(headers=headers or {}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            return await client.call_tool(tool, arguments)


# --- REST ---------------------------------------------------------------------------


def test_health_tools_and_openapi(server: Any) -> None:
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    tools = httpx.get(f"{server.url}/tools", timeout=30).json()
    assert [t["tool"] for t in tools] == ["kubectl", "helm", "istioctl", "argocd"]
    assert tools[0]["available"] and tools[0]["version"].startswith("v1.37")
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert {
        "/health",
        "/tools",
        "/tools/kubectl",
        "/tools/helm",
        "/tools/istioctl",
        "/tools/argocd",
    } <= set(spec["paths"])
    assert "X-Kubeconfig" in json.dumps(spec["paths"]["/tools/kubectl"])
    assert httpx.get(f"{server.url}/docs").status_code == 200


def _health_over(sock: socket.socket) -> bytes:
    """GET /health on an open connection; the whole answer, or b"" if it was closed."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def test_an_idle_connection_outlives_the_clients_idle_timeout(server: Any) -> None:
    # httpx drops an idle connection after 5 s, load balancers after 60 s: the server
    # must not close first (uvicorn's default of 5 s made clients under load fail with
    # ReadError when they reused a connection the server was closing).
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert _health_over(sock).startswith(b"HTTP/1.1 200")
        time.sleep(6)
        assert _health_over(sock).startswith(b"HTTP/1.1 200")


def test_keep_alive_timeout_closes_idle_connections(start_server: Any) -> None:
    server = start_server("--keep-alive-timeout", "1")
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert _health_over(sock).startswith(b"HTTP/1.1 200")
        time.sleep(2.5)
        assert sock.recv(1) == b""  # closed by the server


def test_rest_answers_have_the_shape_openapi_documents(server: Any) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    documented = spec["components"]["schemas"]["ToolResult"]
    kubeconfig = b64(make_kubeconfig("https://127.0.0.2:1"))
    answer = server.post("kubectl", {"command": SERVER_PATH, "kubeconfig": kubeconfig}).json()
    assert answer["ok"] and answer["stdout"] == "https://127.0.0.2:1"
    assert set(answer) == set(documented["properties"]) == set(documented["required"])


def test_rest_runs_with_the_header_kubeconfig_first(server: Any) -> None:
    header = b64(make_kubeconfig("https://127.0.0.2:1"))
    body = b64(make_kubeconfig("https://127.0.0.3:1"))
    response = server.post(
        "kubectl", {"command": SERVER_PATH, "kubeconfig": body}, headers={"X-Kubeconfig": header}
    )
    assert response.status_code == 200
    assert response.json()["stdout"] == "https://127.0.0.2:1"
    response = server.post("kubectl", {"command": SERVER_PATH, "kubeconfig": body})
    assert response.json()["stdout"] == "https://127.0.0.3:1"


def test_rest_answers_200_for_a_command_that_failed(server: Any, closed_port: int) -> None:
    sent = b64(make_kubeconfig(f"https://127.0.0.1:{closed_port}"))
    response = server.post("kubectl", {"command": "get ns"}, headers={"X-Kubeconfig": sent})
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is False and result["exit_code"] == 1
    assert "connection refused" in result["stderr"]


@pytest.mark.parametrize(
    ("tool", "body", "headers", "status", "code"),
    [
        ("kubectl", {"command": "get ns"}, {}, 400, "missing_kubeconfig"),
        ("kubectl", {"command": "get ns"}, {"X-Kubeconfig": "%%%"}, 400, "invalid_kubeconfig"),
        ("kubectl", {"comand": "get ns"}, {}, 400, "invalid_request"),
        (
            "kubectl",
            {"command": "get 'ns", "kubeconfig": b64(make_kubeconfig())},
            {},
            400,
            "invalid_command",
        ),
        (
            "kubectl",
            {"command": "get ns", "timeout": 100000, "kubeconfig": b64(make_kubeconfig())},
            {},
            400,
            "invalid_request",
        ),
        ("bash", {"command": "-c id"}, {}, 404, "unknown_tool"),
        (
            "kubectl",
            {"command": "get ns", "kubeconfig": "A" * 2_000_000},
            {},
            413,
            "kubeconfig_too_large",
        ),
        ("kubectl", {"command": "get ns", "stdin": "x" * 5_000_000}, {}, 413, "request_too_large"),
    ],
)
def test_rest_errors(
    server: Any, tool: str, body: dict[str, Any], headers: dict[str, str], status: int, code: str
) -> None:
    response = server.post(tool, body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error"] == code and error["ok"] is False and error["detail"]
    assert SECRET_TOKEN not in response.text


def test_rest_missing_binary_is_503(start_server: Any) -> None:
    server = start_server(env=k8smcp_env(K8SMCP_ARGOCD_BIN="/nope/argocd"))
    response = server.post(
        "argocd", {"command": "version --client", "kubeconfig": b64(make_kubeconfig())}
    )
    assert response.status_code == 503
    assert response.json()["error"] == "binary_not_found"


def test_allow_default_kubeconfig_uses_the_servers_own(start_server: Any) -> None:
    own = b64(make_kubeconfig("https://127.0.0.5:1"))
    server = start_server("--allow-default-kubeconfig", env=k8smcp_env(K8SMCP_KUBECONFIG_B64=own))
    assert (
        server.post("kubectl", {"command": SERVER_PATH}).json()["stdout"] == "https://127.0.0.5:1"
    )


def test_without_allow_default_the_servers_kubeconfig_is_ignored(start_server: Any) -> None:
    own = b64(make_kubeconfig("https://127.0.0.5:1"))
    server = start_server(env=k8smcp_env(K8SMCP_KUBECONFIG_B64=own))
    assert server.post("kubectl", {"command": SERVER_PATH}).json()["error"] == "missing_kubeconfig"


# --- MCP over streamable HTTP ------------------------------------------------------


@pytest.mark.anyio
async def test_mcp_http_reads_the_x_kubeconfig_header(server: Any) -> None:
    header = b64(make_kubeconfig("https://127.0.0.2:1"))
    result = await mcp_call(
        server.mcp_url, "kubectl", {"command": SERVER_PATH}, headers={"X-Kubeconfig": header}
    )
    assert not result.is_error
    assert result.content[0].text == "https://127.0.0.2:1"
    argument = b64(make_kubeconfig("https://127.0.0.4:1"))
    result = await mcp_call(
        server.mcp_url, "kubectl", {"command": SERVER_PATH, "kubeconfig": argument}
    )
    assert result.content[0].text == "https://127.0.0.4:1"


@pytest.mark.anyio
async def test_mcp_http_without_kubeconfig_is_a_readable_error(server: Any) -> None:
    result = await mcp_call(server.mcp_url, "kubectl", {"command": "get ns"})
    assert result.is_error
    assert result.content[0].text.startswith("missing_kubeconfig: no kubeconfig was sent")
    assert "X-Kubeconfig header" in result.content[0].text


@pytest.mark.anyio
async def test_concurrent_calls_each_see_their_own_kubeconfig(server: Any) -> None:
    results: dict[int, str] = {}

    async def one(i: int) -> None:
        sent = b64(make_kubeconfig(f"https://127.0.1.{i}:1"))
        if i % 2:
            result = await mcp_call(
                server.mcp_url, "kubectl", {"command": SERVER_PATH}, headers={"X-Kubeconfig": sent}
            )
            results[i] = result.content[0].text
        else:
            async with httpx.AsyncClient(timeout=60) as http:
                response = await http.post(
                    f"{server.url}/tools/kubectl",
                    json={"command": SERVER_PATH},
                    headers={"X-Kubeconfig": sent},
                )
            results[i] = response.json()["stdout"]

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(one, i)
    assert results == {i: f"https://127.0.1.{i}:1" for i in range(12)}


@pytest.mark.anyio
async def test_concurrency_cap_makes_calls_wait_their_turn(
    start_server: Any, fake_cli: Path
) -> None:
    server = start_server(
        "--max-concurrency", "1", env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli))
    )
    spans: list[tuple[float, float]] = []

    async def one() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                f"{server.url}/tools/kubectl",
                json={"command": "get sleep 0.8", "kubeconfig": b64(make_kubeconfig())},
            )
        data = json.loads(response.json()["stdout"])
        spans.append((data["start"], data["end"]))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(one)
    spans.sort()
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))


@pytest.mark.anyio
async def test_cancelled_call_kills_the_process_and_leaves_nothing(
    start_server: Any, fake_cli: Path, private_tmp: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    server = start_server(
        env=k8smcp_env(
            private_tmp,
            K8SMCP_KUBECTL_BIN=str(fake_cli),
            K8SMCP_PASS_ENV="FAKE_PIDS",
            FAKE_PIDS=str(pids),
            # the stand-in reports its pids in a file outside its call directory, which
            # confinement forbids (tests/security/test_confinement.py kills confined ones)
            K8SMCP_CONFINE="false",
        )
    )
    with anyio.move_on_after(3):
        await mcp_call(
            server.mcp_url,
            "kubectl",
            {"command": "get hang"},
            headers={"X-Kubeconfig": b64(make_kubeconfig())},
        )
    assert pids.exists(), "the command never started"
    parent, grandchild = map(int, pids.read_text().split())
    deadline = time.monotonic() + 10
    while (pid_alive(parent) or pid_alive(grandchild)) and time.monotonic() < deadline:
        await anyio.sleep(0.1)
    assert not pid_alive(parent) and not pid_alive(grandchild)
    assert leftovers(private_tmp) == []
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_nothing_is_left_behind_after_success_error_and_timeout(
    start_server: Any, fake_cli: Path, private_tmp: Path
) -> None:
    server = start_server(env=k8smcp_env(private_tmp, K8SMCP_KUBECTL_BIN=str(fake_cli)))
    sent = {"kubeconfig": b64(make_kubeconfig())}
    assert server.post("kubectl", {"command": "get env", **sent}).json()["ok"]
    assert server.post("kubectl", {"command": "get exit 3", **sent}).json()["exit_code"] == 3
    timed = server.post("kubectl", {"command": "get sleep 30", "timeout": 1, **sent}).json()
    assert timed["timed_out"] and timed["exit_code"] == 124
    assert server.post("kubectl", {"command": "get ns", "kubeconfig": "%%"}).status_code == 400
    assert leftovers(private_tmp) == []
    server.stop()  # and the spare directories go with the server
    assert list(private_tmp.iterdir()) == []


def test_logs_never_carry_the_kubeconfig_or_token(start_server: Any) -> None:
    server = start_server()
    sent = b64(make_kubeconfig())
    server.post("kubectl", {"command": "config view --raw"}, headers={"X-Kubeconfig": sent})
    server.post(
        "kubectl",
        {"command": "get pods --token=tok-on-the-command-line"},
        headers={"X-Kubeconfig": sent},
    )
    server.post("kubectl", {"command": "config view"}, headers={"X-Kubeconfig": sent})
    server.stop()
    log = server.log.read_text()
    audit = [
        json.loads(line.split("k8smcp.audit: ", 1)[1])
        for line in log.splitlines()
        if "k8smcp.audit: " in line
    ]
    assert [(a["verb"], a["outcome"], a.get("rule")) for a in audit] == [
        ("config", "denied", "raw-config"),
        ("get", "denied", "flag-target"),
        ("config", "ok", None),
    ]
    assert audit[1]["args"] == ["get", "pods", "--token=<redacted>"]
    assert audit[2]["cluster"] == "127.0.0.1:1" and audit[2]["client"] == "127.0.0.1"
    assert {"time", "tool", "duration_ms", "exit_code"} <= set(audit[2])
    assert SECRET_TOKEN not in log and sent not in log and "tok-on-the-command-line" not in log


# --- k8smcp call -------------------------------------------------------------------


def test_call_sends_the_local_kubeconfig_in_the_header_and_exits_with_the_code(
    server: Any, closed_port: int
) -> None:
    local = b64(make_kubeconfig("https://127.0.0.6:1"))
    env = k8smcp_env(K8SMCP_KUBECONFIG_B64=local, K8SMCP_URL=server.mcp_url)
    done = run_k8smcp(
        "call", "kubectl", "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "https://127.0.0.6:1"
    unreachable = b64(make_kubeconfig(f"https://127.0.0.1:{closed_port}"))
    env["K8SMCP_KUBECONFIG_B64"] = unreachable
    done = run_k8smcp("call", "kubectl", "get", "ns", env=env)
    assert done.returncode == 1 and "connection refused" in done.stderr


def test_call_json_and_list(server: Any) -> None:
    env = k8smcp_env(K8SMCP_KUBECONFIG_B64=b64(make_kubeconfig()))
    done = run_k8smcp(
        "call", "--url", server.mcp_url, "--json", "kubectl", "version", "--client", env=env
    )
    result = json.loads(done.stdout)
    assert result["ok"] and "Client Version" in result["stdout"]
    listed = json.loads(run_k8smcp("call", "--url", server.mcp_url, "--list", "--json").stdout)
    path = k8smcp_env()["PATH"]  # the server lists the tools whose binaries it finds
    installed = [t for t in ("kubectl", "helm", "istioctl", "argocd") if shutil.which(t, path=path)]
    assert [t["name"] for t in listed] == installed


def test_call_maps_server_errors_to_the_same_exit_codes_as_run(server: Any) -> None:
    done = run_k8smcp(
        "call",
        "--url",
        server.mcp_url,
        "kubectl",
        "get",
        "ns",
        env=k8smcp_env(K8SMCP_KUBECONFIG_B64="%%%"),
    )
    assert done.returncode == 3 and "not valid base64" in done.stderr
    done = run_k8smcp(
        "call", "--url", server.mcp_url, "kubectl", "get", "ns", env=k8smcp_env(HOME="/nonexistent")
    )
    assert done.returncode == 3 and "missing_kubeconfig" not in done.stdout
    assert "KubeconfigMissingError: no kubeconfig sent" in done.stderr  # call posts to REST


def test_call_errors_have_distinct_exit_codes(server: Any, closed_port: int) -> None:
    done = run_k8smcp("call", "--url", f"http://127.0.0.1:{closed_port}/mcp", "kubectl", "version")
    assert done.returncode == 5
    assert done.stderr.strip().startswith("ServerUnreachableError: cannot reach")
    done = run_k8smcp("call", "--url", f"{server.url}/not-mcp", "kubectl", "version")
    assert done.returncode == 7 and "HTTP 404" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.anyio
async def test_progress_over_http(start_server: Any, fake_cli: Path) -> None:
    server = start_server(env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli)))
    seen: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    headers = {"X-Kubeconfig": b64(make_kubeconfig())}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
            result = await client.call_tool(
                "kubectl", {"command": "get sleep 2.5"}, progress_callback=on_progress
            )
    assert not result.is_error
    assert seen and seen[0] is not None and seen[0].startswith("running for")
