"""Part 2: calls per second with N concurrent clients, k8smcp beside raw kubectl.

Each client calls in a loop until the step's time is up (and never more than
MAX_CALLS_PER_CLIENT times); raw kubectl runs as N parallel subprocess loops, with the
GOGC k8smcp gives its children and, for scale, with Go's default. The
server runs with --max-concurrency 64 and, at 32 and 64 clients, also with the
default 16 to show what the limit costs. At each N, every target's time is cut into
SLICES slices run in turns (`interleaved`), so that a minute of the machine's noise
does not fall on one target alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bench.clients import McpHttp, Outcome
from bench.context import CACHE_MODES, Bench
from bench.report import BASE, STOCK, tp_target
from bench.stats import ratio, summarize

COMMAND = "get ns"
MAX_CALLS_PER_CLIENT = 10_000
SLICES = 3  # turns per target and level; each runs --duration / SLICES seconds
ORDER_SEED = 7  # the turns' order is random, and the same in every run


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


Clients = Callable[[], Awaitable[list[Any]]]


async def interleaved(
    steps: dict[str, Clients], command: str, duration: float
) -> dict[str, tuple[list[Outcome], float]]:
    """Each step's clients call for ``duration`` s in all, in SLICES turns.

    Every turn runs each step once, in a new (seeded) order, with new clients warmed by
    one call each. Steps one after the other let a burst of the machine's noise (10-20 %
    on two cores, lasting a minute or so) fall on one step; in turns it falls on all.
    Returns each step's outcomes and the seconds its turns took.
    """
    found: dict[str, tuple[list[Outcome], float]] = {name: ([], 0.0) for name in steps}
    rng = random.Random(ORDER_SEED)
    for _ in range(SLICES):
        order = list(steps)
        rng.shuffle(order)
        for name in order:
            clients = await steps[name]()
            unique = list({id(c): c for c in clients}.values())
            try:
                await asyncio.gather(*(c.call(command) for c in unique))  # warm each session
                outcomes, elapsed = await measure(clients, command, duration / SLICES)
            finally:
                for client in unique:
                    await client.aclose()
            done, seconds = found[name]
            found[name] = (done + outcomes, seconds + elapsed)
        # free the servers' event loops of finished sessions before the next turn
        await asyncio.sleep(0.5)
    return found


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
        extra = [("REST", "on", 16), ("MCP HTTP", "on", 16)] if concurrency >= 32 else []
        steps: dict[str, Clients] = {
            _label(kind, mode, max_conc): partial(
                _clients, bench, kind, mode, concurrency, max_conc
            )
            for kind, mode, max_conc in targets + extra
        }
        found = await interleaved(steps, COMMAND, duration)
        base = None
        for kind, mode, max_conc in targets + extra:
            result = row(_name(kind, mode), concurrency, *found[_label(kind, mode, max_conc)])
            if max_conc and max_conc != 64:
                result["max_concurrency"] = max_conc
            if base is None:
                base = result
            result["ratio"] = ratio(result["calls_per_s"], base["calls_per_s"])
            result["base_calls_per_s"] = base["calls_per_s"]
            rows.append(result)
            bench.note(
                f"throughput {_label(kind, mode, max_conc)} x{concurrency}: "
                f"{result['calls_per_s']} calls/s, p50 {result['median_ms']} ms, "
                f"{result['errors']} errors {result['first_error'][:120]}"
            )
    return {
        "command": COMMAND,
        "duration": duration,
        "slices": SLICES,
        "levels": levels,
        "rows": rows,
    }


def _name(kind: str, mode: str) -> str:
    return kind if not mode else f"{kind} [cache {mode}]"


def _label(kind: str, mode: str, max_conc: int) -> str:
    return tp_target(_name(kind, mode), max_conc if max_conc not in (0, 64) else None)


__all__ = ["McpHttp", "interleaved", "measure", "row", "run"]
