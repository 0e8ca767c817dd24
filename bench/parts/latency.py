"""Part 1: per-call latency of the same command with the same kubeconfig, by entry point.

Calls go round by round over the entry points (one call each per round, in a shuffled
order), so the machine's noise falls on all of them alike; ratios are against raw
kubectl from the same rounds. `k8smcp run` and `k8smcp call` (a Python start-up per
call) have rounds of their own.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench.context import CACHE_MODES, Bench
from bench.env import BIG_NS
from bench.report import BASE
from bench.stats import ratio, summarize

COMMANDS = ("get ns", "get pods -A -o json")
WARMUP = 3
ORDER_SEED = 5  # the rounds' order is random, and the same in every run


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.calls, 1)
    slow_calls = max(bench.args.slow_calls, 1)
    raw = bench.raw_kubectl()
    fast: list[Any] = []
    slow: list[Any] = []
    for mode in CACHE_MODES:
        fast += [bench.rest(mode), await bench.mcp_http(mode), await bench.mcp_stdio(mode)]
        slow += [bench.run(mode), bench.call(mode)]
    fast.append(bench.rest_httpx("on"))  # what httpx adds to REST, for scale
    fast.append(bench.raw_kubectl(stock=True))  # kubectl as Go's defaults run it, for scale
    results: dict[str, Any] = {"calls": calls, "slow_calls": slow_calls, "commands": {}}
    deadline = time.monotonic() + bench.args.latency_budget
    try:
        for command in COMMANDS:
            for driver in [raw, *fast, *slow]:
                for _ in range(WARMUP):
                    await driver.call(command)
            fast_rounds = await rounds(bench, _named(raw, *fast), command, calls, deadline)
            summary = _summary(fast_rounds)
            # `run` and `call` start Python for each call (about 1 s of CPU for `call`):
            # in rounds of their own, so they do not disturb the servers' figures
            slow_rounds = await rounds(bench, _named(raw, *slow), command, slow_calls, deadline)
            slow_summary = _summary(slow_rounds)
            summary[SLOW_BASE] = slow_summary.pop(BASE)
            summary.update(slow_summary)
            results["commands"][command] = summary
            bench.note(
                f"latency {command!r}: "
                + ", ".join(f"{n} {r['median_ms']:.0f} ms" for n, r in summary.items())
            )
    finally:
        for driver in [raw, *fast, *slow]:
            await driver.aclose()
    results["namespace_pods"] = BIG_NS
    return results


SLOW_BASE = "raw kubectl (rounds of run and call)"


def _named(*drivers: Any) -> list[tuple[str, Any]]:
    return [(driver.name, driver) for driver in drivers]


async def rounds(
    bench: Bench, drivers: list[tuple[str, Any]], command: str, calls: int, deadline: float
) -> dict[str, list[Any]]:
    """``calls`` rounds, one call per (name, driver) each, in a new order every round.

    Shuffled (seeded), not rotated: under rotation each driver always follows the same
    other one, and a call leaves work behind (its directory is removed just after the
    answer; with the cache off, hundreds of discovery files), which then always fell
    on the same neighbour.
    """
    outcomes: dict[str, list[Any]] = {name: [] for name, _ in drivers}
    rng = random.Random(ORDER_SEED)
    for i in range(calls):
        order = list(drivers)
        rng.shuffle(order)
        for name, driver in order:
            outcomes[name].append(await driver.call(command))
        if time.monotonic() > deadline:
            bench.note(f"latency: time budget reached after {i + 1} rounds")
            break
    return outcomes


def _summary(outcomes: dict[str, list[Any]]) -> dict[str, Any]:
    """Each driver's summary, with ratios to raw kubectl's from the same rounds."""
    summary = {name: summarize(found) for name, found in outcomes.items()}
    base = summary[BASE]
    for row in summary.values():
        row["ratio_median"] = ratio(row["median_ms"], base["median_ms"])
        row["ratio_p95"] = ratio(row["p95_ms"], base["p95_ms"])
    return summary
