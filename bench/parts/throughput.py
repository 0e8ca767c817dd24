"""Part 2: calls per second with N concurrent clients, k8smcp beside raw kubectl.

Each client calls in a loop until the step's time is up (and never more than
MAX_CALLS_PER_CLIENT times); raw kubectl runs as N parallel subprocess loops, with the
GOGC k8smcp gives its children and, for scale, with Go's default. The
server runs with --max-concurrency 64 and, at 32 and 64 clients, also with the
default 16 to show what the limit costs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.clients import McpHttp, Outcome
from bench.context import CACHE_MODES, Bench
from bench.report import BASE, STOCK
from bench.stats import ratio, summarize

COMMAND = "get ns"
MAX_CALLS_PER_CLIENT = 10_000


async def measure(clients: list[Any], command: str, duration: float) -> tuple[list[Outcome], float]:
    """Run every client in a loop for ``duration`` s; the outcomes and the elapsed time."""
    outcomes: list[Outcome] = []
    end = time.monotonic() + duration

    async def loop(client: Any) -> None:
        for _ in range(MAX_CALLS_PER_CLIENT):
            if time.monotonic() >= end:
                return
            outcomes.append(await client.call(command))

    started = time.monotonic()
    await asyncio.gather(*(loop(c) for c in clients))
    return outcomes, time.monotonic() - started


def row(target: str, concurrency: int, outcomes: list[Outcome], elapsed: float) -> dict[str, Any]:
    summary = summarize(outcomes)
    ok = summary["n"] - summary["errors"]
    return {
        "target": target,
        "concurrency": concurrency,
        "calls": summary["n"],
        "errors": summary["errors"],
        "calls_per_s": round(ok / elapsed, 2) if elapsed else 0.0,
        "median_ms": summary["median_ms"],
        "p95_ms": summary["p95_ms"],
        "first_error": summary["first_error"][:300],
        "elapsed_s": round(elapsed, 2),
    }


async def _clients(bench: Bench, kind: str, mode: str, n: int, max_conc: int) -> list[Any]:
    if kind.startswith(BASE):
        raw = bench.raw_kubectl(stock=kind != BASE)
        return [raw] * n
    if kind == "REST":
        rest = bench.rest(mode, max_conc)
        return [rest] * n  # one keep-alive pool, n requests in flight
    return [await bench.mcp_http(mode, max_conc) for _ in range(n)]  # n MCP sessions


async def run(bench: Bench) -> dict[str, Any]:
    duration = bench.args.duration
    levels = bench.args.concurrency
    # raw kubectl first (the base of the ratios), then as Go's defaults run it, for scale
    targets: list[tuple[str, str, int]] = [(BASE, "", 0), (f"{BASE} [{STOCK}]", "", 0)]
    for mode in CACHE_MODES:
        targets += [("REST", mode, 64), ("MCP HTTP", mode, 64)]
    rows: list[dict[str, Any]] = []
    for concurrency in levels:
        base = None
        extra = [("REST", "on", 16), ("MCP HTTP", "on", 16)] if concurrency >= 32 else []
        for kind, mode, max_conc in targets + extra:
            name = kind if not mode else f"{kind} [cache {mode}]"
            clients = await _clients(bench, kind, mode, concurrency, max_conc)
            try:
                unique = list({id(c): c for c in clients}.values())
                await asyncio.gather(*(c.call(COMMAND) for c in unique))  # warm each session
                outcomes, elapsed = await measure(clients, COMMAND, duration)
            finally:
                for client in {id(c): c for c in clients}.values():
                    await client.aclose()
            result = row(name, concurrency, outcomes, elapsed)
            if max_conc and max_conc != 64:
                result["max_concurrency"] = max_conc
            if base is None:
                base = result
            result["ratio"] = ratio(result["calls_per_s"], base["calls_per_s"])
            result["base_calls_per_s"] = base["calls_per_s"]
            rows.append(result)
            bench.note(
                f"throughput {name} x{concurrency}"
                f"{' max-conc ' + str(max_conc) if max_conc not in (0, 64) else ''}: "
                f"{result['calls_per_s']} calls/s, p50 {result['median_ms']} ms, "
                f"{result['errors']} errors {result['first_error'][:120]}"
            )
        # free the servers' event loops of finished sessions before the next level
        await asyncio.sleep(0.5)
    return {"command": COMMAND, "duration": duration, "levels": levels, "rows": rows}


__all__ = ["McpHttp", "measure", "row", "run"]
