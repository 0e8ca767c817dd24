"""Part 9: what confinement costs a call (issue 14): Landlock rules plus the egress proxy.

Two `k8smcp serve` processes on the same cluster with the discovery cache on, one with
K8SMCP_CONFINE=true (serve's default) and one with it false, and raw kubectl beside
them; `get ns` round by round in a shuffled order (seeded), after warm-up calls. The
figure is the median of the per-round differences (confined minus unconfined REST), and
the difference of the medians; the goal is at most 5 ms.
"""

from __future__ import annotations

import random
from typing import Any

from bench.clients import Rest
from bench.context import Bench
from bench.env import Server
from bench.stats import percentile, ratio, summarize

COMMAND = "get ns"
WARMUP = 3
ORDER_SEED = 14
GOAL_MS = 5.0


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.calls, 1)
    servers = {
        setting: Server(
            "--log-level",
            "warning",
            env=bench.k8smcp_env("on", K8SMCP_CONFINE=setting),
            log=bench.ws.dir("logs") / f"serve-confine-{setting}.log",
            ready_timeout=120,  # a loaded machine starts slowly
        )
        for setting in ("true", "false")
    }
    drivers: dict[str, Any] = {
        "raw kubectl": bench.raw_kubectl(),
        "REST [confined]": Rest(servers["true"].url, bench.kubeconfig_b64, "REST [confined]"),
        "REST [unconfined]": Rest(servers["false"].url, bench.kubeconfig_b64, "REST [unconfined]"),
    }
    outcomes: dict[str, list[Any]] = {name: [] for name in drivers}
    try:
        for driver in drivers.values():
            for _ in range(WARMUP):
                await driver.call(COMMAND)
        rng = random.Random(ORDER_SEED)
        order = list(drivers)
        for _ in range(calls):
            rng.shuffle(order)
            for name in order:
                outcomes[name].append(await drivers[name].call(COMMAND))
    finally:
        for driver in drivers.values():
            await driver.aclose()
        for server in servers.values():
            server.stop()
    rows = {name: summarize(found) for name, found in outcomes.items()}
    base = rows["raw kubectl"]["median_ms"]
    for row in rows.values():
        row["ratio_median"] = ratio(row["median_ms"], base)
    paired = [
        (c.seconds - u.seconds) * 1000
        for c, u in zip(outcomes["REST [confined]"], outcomes["REST [unconfined]"], strict=True)
        if c.ok and u.ok
    ]
    added = round(percentile(paired, 50), 2)
    bench.note(f"confinement: {added} ms added per call (median of per-round differences)")
    return {
        "command": COMMAND,
        "calls": calls,
        "rows": rows,
        "added_median_ms": added,
        "added_medians_ms": round(
            rows["REST [confined]"]["median_ms"] - rows["REST [unconfined]"]["median_ms"], 2
        ),
        "goal_ms": GOAL_MS,
    }
