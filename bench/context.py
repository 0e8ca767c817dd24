"""One benchmark run's shared state: the testbed, its kubeconfigs, the servers per setting."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bench import env
from bench.clients import (
    K8smcpCall,
    K8smcpRun,
    McpHttp,
    McpStdio,
    RawKubectl,
    Rest,
    RestHttpx,
)
from bench.env import K8SMCP, Server, Workspace
from bench.report import BASE, STOCK
from k8smcp.config import CHILD_GOGC, Options

# K8SMCP_DISCOVERY_CACHE values measured side by side ("before and after").
CACHE_MODES = ("off", "on")
# Every k8smcp process gets this output cap (the default is 1 MiB): `get pods -A -o json`
# over the seeded pods prints about 2 MB, and a truncated answer is not the same work.
MAX_OUTPUT_BYTES = 8 * 1024 * 1024


def discovery_cache_present() -> bool:
    """Whether this k8smcp knows K8SMCP_DISCOVERY_CACHE (if not, off and on are the same)."""
    return "discovery_cache" in {option.name for option in fields(Options)}


@dataclass
class Bench:
    """Everything the parts share. ``servers`` are started on first use and reused."""

    args: Any
    ws: Workspace
    cluster: Any
    kubeconfig: Path
    kubeconfig_b64: str
    log: list[str] = field(default_factory=list)
    servers: dict[str, Server] = field(default_factory=dict)

    def note(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        self.log.append(line)
        print(line, flush=True)

    # -- environments --------------------------------------------------------------

    def k8smcp_env(self, mode: str, **extra: str) -> dict[str, str]:
        """k8smcp's environment for a cache mode; its HOME persists through the run."""
        return env.k8smcp_env(
            self.ws.dir(f"home-k8smcp-{mode}"),
            K8SMCP_DISCOVERY_CACHE=mode,
            K8SMCP_MAX_OUTPUT_BYTES=str(MAX_OUTPUT_BYTES),
            # MCP answers whole, as REST's: the same work at every door (part tokens
            # sets the budget on servers of its own)
            **{
                "K8SMCP_OUTPUT_BUDGET": str(MAX_OUTPUT_BYTES),
                "K8SMCP_MAX_OUTPUT_BUDGET": str(MAX_OUTPUT_BYTES),
                **extra,
            },
        )

    def kubectl_env(self, stock: bool = False) -> dict[str, str]:
        """Raw kubectl's environment: with the GOGC k8smcp gives its children (the same
        child work, so ratios show k8smcp's overhead), or Go's default when ``stock``."""
        gogc = {} if stock else {"GOGC": CHILD_GOGC}
        return env.kubectl_env(self.ws.dir("home-kubectl"), self.kubeconfig, **gogc)

    # -- servers -------------------------------------------------------------------

    def server(self, mode: str, max_concurrency: int = 64, stock: bool = False) -> Server:
        """``stock``: the children run with Go's default GOGC instead of k8smcp's."""
        key = f"{mode}-{max_concurrency}{'-stock' if stock else ''}"
        if key not in self.servers:
            gogc = {"GOGC": "100", "K8SMCP_PASS_ENV": "GOGC"} if stock else {}
            self.servers[key] = Server(
                "--max-concurrency",
                str(max_concurrency),
                "--log-level",
                "warning",
                env=self.k8smcp_env(mode, **gogc),
                log=self.ws.dir("logs") / f"serve-{key}.log",
            )
            self.note(
                f"serve (cache {mode}, max-concurrency {max_concurrency}"
                f"{', children at ' + STOCK if stock else ''}) on {self.servers[key].url}"
            )
        return self.servers[key]

    def stop_servers(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    # -- drivers -------------------------------------------------------------------

    def raw_kubectl(self, stock: bool = False) -> RawKubectl:
        return RawKubectl(self.kubectl_env(stock), name=f"{BASE} [{STOCK}]" if stock else BASE)

    def rest(self, mode: str, max_concurrency: int = 64) -> Rest:
        server = self.server(mode, max_concurrency)
        return Rest(server.url, self.kubeconfig_b64, name=f"REST [cache {mode}]")

    def rest_httpx(self, mode: str) -> RestHttpx:
        """REST through httpx: not a target, the cost of a Python client for scale."""
        server = self.server(mode)
        return RestHttpx(server.url, self.kubeconfig_b64, name=f"httpx REST [cache {mode}]")

    async def mcp_http(self, mode: str, max_concurrency: int = 64, stock: bool = False) -> McpHttp:
        server = self.server(mode, max_concurrency, stock)
        client = McpHttp(
            server.mcp_url,
            headers={"X-Kubeconfig": self.kubeconfig_b64},
            name=f"MCP HTTP [cache {mode}]{f' [{STOCK}]' if stock else ''}",
        )
        return await client.start()

    async def mcp_stdio(self, mode: str) -> McpStdio:
        client = McpStdio(
            [K8SMCP, "stdio", "--kubeconfig", str(self.kubeconfig)],
            self.k8smcp_env(mode),
            name=f"MCP stdio [cache {mode}]",
            stderr=self.ws.dir("logs") / f"stdio-{mode}.log",
        )
        return await client.start()

    def run(self, mode: str, warm: bool = False) -> K8smcpRun:
        """``k8smcp run`` as a script runs it; ``warm``: as at a terminal (K8SMCP_WARM=1).

        The warm process is the bench's own, in a private XDG_RUNTIME_DIR.
        """
        if not warm:  # as a script runs it: cold (and so if the bench's stderr is a terminal)
            env = self.k8smcp_env(mode, K8SMCP_WARM="0")
            return K8smcpRun(env, self.kubeconfig, name=f"k8smcp run [cache {mode}]")
        runtime = self.ws.dir(f"xdg-{mode}")
        runtime.chmod(0o700)  # a warm process lives only in a private directory
        env = self.k8smcp_env(mode, K8SMCP_WARM="1", XDG_RUNTIME_DIR=str(runtime))
        name = f"k8smcp run [cache {mode}] [K8SMCP_WARM=1]"
        return K8smcpRun(env, self.kubeconfig, name=name, warm=runtime)

    def call(self, mode: str) -> K8smcpCall:
        server = self.server(mode)
        return K8smcpCall(
            self.k8smcp_env(mode, KUBECONFIG=str(self.kubeconfig)),
            server.mcp_url,
            name=f"k8smcp call [cache {mode}]",
        )
