"""Part 1: per-call latency of the same command with the same kubeconfig, by entry point.

Calls go round-robin over the entry points (one call each per round), so the machine's
noise falls on all of them alike; ratios are against raw kubectl from the same rounds.
"""

from __future__ import annotations

import time
from typing import Any

from bench.context import CACHE_MODES, Bench
from bench.env import BIG_NS
from bench.stats import ratio, summarize

COMMANDS = ("get ns", "get pods -A -o json")
WARMUP = 3


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.calls, 1)
    drivers: list[Any] = [bench.raw_kubectl()]
    for mode in CACHE_MODES:
        drivers += [
            bench.run(mode),
            bench.rest(mode),
            await bench.mcp_http(mode),
            await bench.mcp_stdio(mode),
            bench.call(mode),
        ]
    results: dict[str, Any] = {"calls": calls, "commands": {}}
    deadline = time.monotonic() + bench.args.latency_budget
    try:
        for command in COMMANDS:
            for driver in drivers:
                for _ in range(WARMUP):
                    await driver.call(command)
            outcomes: dict[str, list[Any]] = {d.name: [] for d in drivers}
            for i in range(calls):
                order = drivers[i % len(drivers) :] + drivers[: i % len(drivers)]
                for driver in order:
                    outcomes[driver.name].append(await driver.call(command))
                if time.monotonic() > deadline:
                    bench.note(f"latency: time budget reached after {i + 1} rounds")
                    break
            summary = {name: summarize(found) for name, found in outcomes.items()}
            base = summary["raw kubectl"]
            for _name, row in summary.items():
                row["ratio_median"] = ratio(row["median_ms"], base["median_ms"])
                row["ratio_p95"] = ratio(row["p95_ms"], base["p95_ms"])
            results["commands"][command] = summary
            bench.note(
                f"latency {command!r}: "
                + ", ".join(f"{n} {r['median_ms']:.0f} ms" for n, r in summary.items())
            )
    finally:
        for driver in drivers:
            await driver.aclose()
    results["namespace_pods"] = BIG_NS
    return results
