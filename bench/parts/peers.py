"""Part 6: the same operation through other Kubernetes MCP servers, on the same cluster.

Each peer is installed at a pinned version into ~/.cache/k8smcp/bench/peers (outside
the repository) by its registry's ordinary client, started on a loopback port, and
asked through its own MCP tool for the pods of one namespace. Latency goes in shuffled
rounds over the servers like part 1; throughput runs N concurrent MCP sessions against
each, in turns interleaved across the servers at each N (part 2's `interleaved`).
k8smcp runs as shipped, and once more with its children at Go's default GOGC, as the
peers' kubectl runs. Where a peer cannot be installed or run, the report says why.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.clients import McpHttp, McpSse
from bench.context import Bench
from bench.env import BIN_DIR, CACHE, SMALL_NS, free_port
from bench.parts.latency import rounds
from bench.parts.throughput import SLICES, Clients, interleaved, row
from bench.report import STOCK
from bench.stats import ratio, summarize
from k8smcp.config import DEFAULT_MAX_CONCURRENCY as SHIPPED_CONCURRENCY  # k8smcp as shipped

PEERS_DIR = CACHE / "peers"
INSTALL_TIMEOUT = 600
WARMUP = 3


@dataclass(frozen=True)
class Peer:
    name: str
    package: str
    version: str
    registry: str  # npm | pypi
    tool: str
    transport: str
    wraps_cli: bool  # runs kubectl per call, as k8smcp does (the target compares these)


FLUX159 = Peer(
    "Flux159 mcp-server-kubernetes",
    "mcp-server-kubernetes",
    "4.1.7",
    "npm",
    "kubectl_get",
    "streamable HTTP (ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT)",
    wraps_cli=True,
)
CONTAINERS = Peer(
    "containers kubernetes-mcp-server",
    "kubernetes-mcp-server-linux-amd64",
    "0.0.67",
    "npm",
    "pods_list_in_namespace",
    "streamable HTTP (--port)",
    wraps_cli=False,
)
ALEXEI = Peer(
    "alexei-led k8s-mcp-server",
    "dungngo-k8s-mcp-server",
    "1.3.3",
    "pypi",
    "execute_kubectl",
    "SSE (K8S_MCP_TRANSPORT=sse; it has no streamable HTTP)",
    wraps_cli=True,
)
PEERS = (FLUX159, CONTAINERS, ALEXEI)

# alexei-led's server declares Requires-Python >=3.13 and imports mcp.server.fastmcp with
# a `version=` argument that mcp 1.10+ refuses; on this 3.11 machine it runs with
# --ignore-requires-python and these pins, which is how the benchmark installs it.
ALEXEI_PINS = ("mcp==1.9.4", "pydantic==2.11.7")


def _run(argv: list[str], log: Path, cwd: Path | None = None) -> None:
    with log.open("a") as out:
        subprocess.run(
            argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=True,
            timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def install(peer: Peer) -> Path:
    """Install ``peer`` (once) and return its directory. Raises on failure."""
    where = PEERS_DIR / f"{peer.package}-{peer.version}"
    marker = where / ".installed"
    if marker.exists():
        return where
    where.mkdir(parents=True, exist_ok=True)
    log = where / "install.log"
    if peer.registry == "npm":
        _run(
            ["npm", "install", "--prefix", str(where), "--no-audit", "--no-fund",
             f"{peer.package}@{peer.version}"],
            log,
        )  # fmt: skip
    else:
        _run(["python3.11", "-m", "venv", str(where / "venv")], log)
        _run(
            [str(where / "venv" / "bin" / "pip"), "install", "--ignore-requires-python",
             f"{peer.package}=={peer.version}", *ALEXEI_PINS],
            log,
        )  # fmt: skip
    marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return where


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-800:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"did not listen on 127.0.0.1:{port} within {timeout:g}s")


class Running:
    """A started peer: how to make a client session, and how to stop it."""

    def __init__(self, peer: Peer, proc: subprocess.Popen[bytes], factory: Any) -> None:
        self.peer = peer
        self.proc = proc
        self.factory = factory

    async def client(self) -> Any:
        return await self.factory()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(peer: Peer, where: Path, bench: Bench, extra_path: str = "") -> Running:
    """``extra_path``: directories put first on the peer's PATH (the testbed's helm)."""
    port = free_port()
    home = bench.ws.dir(f"home-{peer.package}")
    log = bench.ws.dir("logs") / f"peer-{peer.package}.log"
    env = {
        "PATH": os.pathsep.join(
            p for p in (extra_path, str(BIN_DIR), os.environ.get("PATH", os.defpath)) if p
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "KUBECONFIG": str(bench.kubeconfig),
    }
    namespace = SMALL_NS
    if peer is FLUX159:
        argv = ["node", str(where / "node_modules" / peer.package / "dist" / "index.js")]
        env.update(ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT="1", PORT=str(port), HOST="127.0.0.1")

        def args(_: str) -> dict[str, Any]:
            return {"resourceType": "pods", "namespace": namespace}
    elif peer is CONTAINERS:
        binary = where / "node_modules" / peer.package / "bin" / peer.package
        argv = [str(binary), "--port", str(port), "--bind-address", "127.0.0.1",
                "--kubeconfig", str(bench.kubeconfig), "--read-only"]  # fmt: skip

        def args(_: str) -> dict[str, Any]:
            return {"namespace": namespace}
    else:
        argv = [str(where / "venv" / "bin" / "python"), "-m", "k8s_mcp_server"]
        env.update(K8S_MCP_TRANSPORT="sse", FASTMCP_HOST="127.0.0.1", FASTMCP_PORT=str(port))

        def args(_: str) -> dict[str, Any]:
            return {"command": f"get pods -n {namespace}"}

    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    _wait_port(port, proc, log)
    base = f"http://127.0.0.1:{port}"

    async def factory() -> Any:
        if peer is ALEXEI:
            return await McpSse(base, tool=peer.tool, make_args=args, name=peer.name).start()
        client = McpHttp(f"{base}/mcp", tool=peer.tool, make_args=args, name=peer.name)
        return await client.start()

    return Running(peer, proc, factory)


K8SMCP_NAME = "k8smcp (MCP HTTP)"  # as shipped: max-concurrency 16, children at GOGC 200
K8SMCP_STOCK_NAME = f"{K8SMCP_NAME} [children at {STOCK}]"
RAW_NAME = f"raw kubectl (for scale) [{STOCK}]"


async def _sessions(factory: Any, n: int) -> list[Any]:
    return [await factory() for _ in range(n)]


def _version_of_k8smcp() -> str:
    from k8smcp import __version__

    return __version__


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.calls, 1)
    command = f"get pods -n {SMALL_NS}"
    pods = len(
        bench.cluster.kubectl("get", "pods", "-n", SMALL_NS, "--no-headers").stdout.splitlines()
    )
    peers: dict[str, Any] = {}
    running: list[Running] = []
    for peer in PEERS:
        entry: dict[str, Any] = {
            "version": peer.version,
            "transport": peer.transport,
            "tool": peer.tool,
            "wraps_cli": peer.wraps_cli,
        }
        peers[peer.name] = entry
        try:
            where = await asyncio.to_thread(install, peer)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            entry["status"] = "not run"
            entry["why"] = f"install failed ({peer.registry} {peer.package}@{peer.version}): {exc}"
            continue
        try:
            running.append(start(peer, where, bench))
            entry["status"] = "ok"
        except (RuntimeError, OSError) as exc:
            entry["status"] = "not run"
            entry["why"] = f"did not start: {exc}"
    if any(r.peer is ALEXEI for r in running):
        peers[ALEXEI.name]["why"] = (
            "PyPI's dungngo-k8s-mcp-server 1.3.3 requires Python >= 3.13 (this machine has "
            "3.11) and uses FastMCP(version=...), which mcp >= 1.10 refuses; installed with "
            "--ignore-requires-python and mcp 1.9.4, pydantic 2.11.7. It offers stdio and SSE; "
            "measured over SSE."
        )
    k8smcp = {"version": _version_of_k8smcp(), "transport": "streamable HTTP",
              "tool": "kubectl", "status": "ok"}  # fmt: skip
    peers = {
        K8SMCP_NAME: k8smcp,
        K8SMCP_STOCK_NAME: dict(k8smcp),
        RAW_NAME: {"version": "", "transport": "subprocess", "tool": "", "status": "ok"},
        **peers,
    }

    async def k8smcp_as_shipped() -> Any:
        return await bench.mcp_http("on", SHIPPED_CONCURRENCY)

    async def k8smcp_stock() -> Any:
        return await bench.mcp_http("on", SHIPPED_CONCURRENCY, stock=True)

    async def raw() -> Any:
        return bench.raw_kubectl(stock=True)  # as a person (and the peers) run it

    factories: list[tuple[str, Any]] = [
        (K8SMCP_NAME, k8smcp_as_shipped),
        (K8SMCP_STOCK_NAME, k8smcp_stock),
        (RAW_NAME, raw),
    ]
    try:
        # latency, shuffled rounds over the servers
        drivers: list[tuple[str, Any]] = [(name, await make()) for name, make in factories]
        for r in running:
            try:
                drivers.append((r.peer.name, await r.client()))
            except Exception as exc:  # noqa: BLE001 - a peer's failure is reported, not fatal
                peers[r.peer.name].update(status="not run", why=f"MCP session failed: {exc!r}")
        for name, driver in drivers:
            for _ in range(WARMUP):
                first = await driver.call(command)
            if not first.ok:
                peers[name]["warmup_error"] = first.detail[:300]
        deadline = time.monotonic() + bench.args.latency_budget
        outcomes = await rounds(bench, drivers, command, calls, deadline)
        base = summarize(outcomes[K8SMCP_NAME])
        for name, found in outcomes.items():
            peers[name]["latency"] = summarize(found)
            peers[name]["latency"]["ratio_to_k8smcp"] = ratio(
                peers[name]["latency"]["median_ms"], base["median_ms"]
            )
            bench.note(f"peers latency {name}: {peers[name]['latency']['median_ms']} ms")
        for _, driver in drivers:
            await driver.aclose()

        # throughput: N sessions per server, the servers' turns interleaved at each N
        factories += [
            (r.peer.name, r.client) for r in running if peers[r.peer.name]["status"] == "ok"
        ]
        for name, _ in factories:
            peers[name]["throughput"] = []
        for concurrency in bench.args.concurrency:
            steps: dict[str, Clients] = {
                name: partial(_sessions, factory, concurrency) for name, factory in factories
            }
            turns = await interleaved(steps, command, bench.args.duration)
            for name, _ in factories:
                result = row(name, concurrency, *turns[name])
                peers[name]["throughput"].append(result)
                bench.note(
                    f"peers throughput {name} x{concurrency}: {result['calls_per_s']} calls/s, "
                    f"{result['errors']} errors {result['first_error'][:100]}"
                )
    finally:
        for r in running:
            r.stop()
    return {
        "namespace": SMALL_NS,
        "pods": pods,
        "command": command,
        "calls": calls,
        "duration": bench.args.duration,
        "slices": SLICES,
        "k8smcp": K8SMCP_NAME,
        "peers": peers,
    }
