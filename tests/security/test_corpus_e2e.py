"""Every hostile case of the corpus, sent to a real `k8smcp serve`, is refused and does
nothing.

Invariant: one server at its default (server) level gets every case of corpus.yaml over
REST (X-Kubeconfig header), over MCP streamable HTTP with the kubeconfig in the header
(one session per distinct kubeconfig) and over MCP with the kubeconfig as the tool
argument. Each answer is a denial carrying the case's rule: REST 403 with ``rule``, MCP
``is_error`` with the same body as structured content. Afterwards nothing has happened:
no marker file from an exec or shell probe, not one connection to the loopback canary
that every credential in the corpus points at, no private directory left in the
server's TMPDIR, no child process under the server, an audit line saying "denied" for
every call and never the canary token, and /health still answers.

No cluster is needed: every case must be refused before anything runs. The real helm,
istioctl and argocd from the testbed are on the server's PATH when they are built, so
a case that slipped through would run for real and trip the marker or the canary.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests import testbed
from tests.conftest import BIN_DIR, Server, k8smcp_env, leftovers
from tests.security.corpus import Case, load

CANARY_TOKEN = "k8smcp-corpus-canary-token"
PARALLEL = 16  # requests in flight at once


class Canary(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that records every connection made to it (TLS included)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CanaryHandler)
        self.connections: list[tuple[str, int]] = []
        self.requests: list[str] = []
        self.port = int(self.server_address[1])
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections.append(tuple(client_address))  # before any byte is read
        return True

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _CanaryHandler(http.server.BaseHTTPRequestHandler):
    def _record(self) -> None:
        assert isinstance(self.server, Canary)
        self.server.requests.append(f"{self.command} {self.path}")
        self.send_response(418)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_CONNECT = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Run:
    """What the server answered, and what it left behind."""

    cases: list[Case]
    rest: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    mcp_header: dict[str, tuple[bool, dict[str, Any] | None, str]] = field(default_factory=dict)
    mcp_argument: dict[str, tuple[bool, dict[str, Any] | None, str]] = field(default_factory=dict)
    seconds: float = 0.0
    markers: list[str] = field(default_factory=list)
    canary_connections: list[tuple[str, int]] = field(default_factory=list)
    canary_requests: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    health: int = 0
    log: str = ""


def _server_path() -> str:
    dirs = [str(BIN_DIR)]
    if testbed.bin_dir().is_dir():  # real helm, istioctl, argocd if built
        dirs.append(str(testbed.bin_dir()))
    return ":".join([*dirs, "/usr/local/bin", "/usr/bin", "/bin"])


def descendants(pid: int) -> list[str]:
    """Every process under ``pid`` (zombies too), as "pid comm"."""
    parents: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        head, _, tail = text.rpartition(")")
        child_pid, _, comm = head.partition(" (")
        parents[int(tail.split()[1])].append((int(child_pid), comm))
    found: list[str] = []
    pending = [pid]
    while pending:
        for child, comm in parents.get(pending.pop(), []):
            found.append(f"{child} {comm}")
            pending.append(child)
    return found


def _stdin(case: Case) -> dict[str, str]:
    return {} if case.stdin is None else {"stdin": case.stdin}


async def _send_all(server: Server, run: Run) -> None:
    limit = anyio.Semaphore(PARALLEL)

    async def rest(http: httpx.AsyncClient, case: Case) -> None:
        async with limit:
            response = await http.post(
                f"{server.url}/tools/{case.tool}",
                json={"command": case.command, **_stdin(case)},
                headers={"X-Kubeconfig": case.kubeconfig_b64},
            )
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:200]}
        run.rest[case.id] = (response.status_code, body)

    async def mcp_session(
        cases: list[Case], out: dict[str, Any], header: str | None, as_argument: bool
    ) -> None:
        headers = {"X-Kubeconfig": header} if header else {}
        async with limit:
            async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
                async with Client(streamable_http_client(server.mcp_url, http_client=http)) as c:
                    for case in cases:
                        arguments = {"command": case.command, **_stdin(case)}
                        if as_argument:
                            arguments["kubeconfig"] = case.kubeconfig_b64
                        result = await c.call_tool(case.tool, arguments)
                        text = result.content[0].text if result.content else ""
                        out[case.id] = (result.is_error, result.structured_content, text)

    by_kubeconfig: dict[str, list[Case]] = defaultdict(list)
    for case in run.cases:
        by_kubeconfig[case.kubeconfig_b64].append(case)
    async with httpx.AsyncClient(timeout=60) as http, anyio.create_task_group() as tg:
        for case in run.cases:
            tg.start_soon(rest, http, case)
        for header, cases in by_kubeconfig.items():
            tg.start_soon(mcp_session, cases, run.mcp_header, header, False)
        for start in range(0, len(run.cases), 40):
            tg.start_soon(mcp_session, run.cases[start : start + 40], run.mcp_argument, None, True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Start one server and the canary, send the whole corpus, and look around."""
    base = tmp_path_factory.mktemp("corpus")
    markers, private_tmp = base / "markers", base / "tmp"
    markers.mkdir()
    private_tmp.mkdir()
    canary = Canary()
    result = Run(cases=load(canary.port, markers))
    env = k8smcp_env(private_tmp, PATH=_server_path())
    server = Server(env=env, log=base / "serve.log")
    try:
        started = time.monotonic()
        anyio.run(_send_all, server, result)
        result.seconds = time.monotonic() - started
        deadline = time.monotonic() + 5  # a straggler would show up here, then go
        while time.monotonic() < deadline and descendants(server.process.pid):
            time.sleep(0.1)
        result.children = descendants(server.process.pid)
        result.leftovers = leftovers(private_tmp)
        result.health = httpx.get(f"{server.url}/health", timeout=10).status_code
        time.sleep(0.5)  # let a late connection from a straggler reach the canary
        result.markers = sorted(p.name for p in markers.iterdir())
        result.canary_connections = list(canary.connections)
        result.canary_requests = list(canary.requests)
    finally:
        server.stop()
        canary.stop()
    result.log = server.log.read_text()
    yield result


def _problems(answers: dict[str, Any], cases: list[Case], check: Any) -> list[str]:
    problems = []
    for case in cases:
        if case.id not in answers:
            problems.append(f"{case.id}: no answer")
            continue
        problem = check(case, answers[case.id])
        if problem:
            problems.append(f"{case.id} ({case.tool} {case.command[:60]!r}): {problem}")
    return problems


def test_the_corpus_is_large_and_ran_in_time(run: Run) -> None:
    assert len(run.cases) >= 200
    assert run.seconds < 60, f"the corpus took {run.seconds:.1f} s"


def test_every_case_is_refused_over_rest_with_its_rule(run: Run) -> None:
    def check(case: Case, answer: tuple[int, dict[str, Any]]) -> str | None:
        status, body = answer
        if status != 403 or body.get("error") != "denied":
            return f"HTTP {status} {json.dumps(body)[:200]}"
        if body.get("rule") != case.expected_rule:
            return f"rule {body.get('rule')!r}, expected {case.expected_rule!r}"
        if body.get("ok") is not False or not body.get("detail") or body.get("status") != 403:
            return f"not the error shape: {body}"
        return None

    problems = _problems(run.rest, run.cases, check)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("how", ["mcp_header", "mcp_argument"])
def test_every_case_is_refused_over_mcp_with_its_rule(run: Run, how: str) -> None:
    def check(case: Case, answer: tuple[bool, dict[str, Any] | None, str]) -> str | None:
        is_error, body, text = answer
        if not is_error or not body or body.get("error") != "denied":
            return f"is_error={is_error} {json.dumps(body)[:200]} {text[:200]!r}"
        if body.get("rule") != case.expected_rule:
            return f"rule {body.get('rule')!r}, expected {case.expected_rule!r}"
        if not text.startswith("denied: "):
            return f"text {text[:100]!r}"
        return None

    problems = _problems(getattr(run, how), run.cases, check)
    assert not problems, "\n".join(problems)


def test_nothing_ran_and_nothing_was_left_behind(run: Run) -> None:
    assert run.markers == [], "an exec or shell probe ran"
    assert run.canary_connections == [], f"the canary was reached: {run.canary_requests}"
    assert run.leftovers == [], "private directories were left in the server's TMPDIR"
    assert run.children == [], "the server still has child processes"
    assert run.health == 200


def test_the_audit_log_has_a_denial_for_every_call_and_no_credential(run: Run) -> None:
    lines = [
        json.loads(line.split("k8smcp.audit: ", 1)[1])
        for line in run.log.splitlines()
        if "k8smcp.audit: " in line
    ]
    assert len(lines) == 3 * len(run.cases)
    assert {line["outcome"] for line in lines} == {"denied"}
    rules = {case.expected_rule for case in run.cases}
    assert {line["rule"] for line in lines} == rules
    assert CANARY_TOKEN not in run.log
    assert "Traceback" not in run.log
