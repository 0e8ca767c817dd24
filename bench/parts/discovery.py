"""Part 3: how many requests the API server receives per call, by entry point.

Counted from the API server's own apiserver_request_total before and after N
sequential calls. The control plane's background (lease renewals, events, node
heartbeats, health checks, watches) is left out by series, and what background
remains is measured over an idle window and subtracted pro rata.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from bench.context import CACHE_MODES, Bench
from bench.metrics import Scraper

COMMAND = "get ns"
IDLE_WINDOW = 10.0


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.calls, 1)
    scraper = Scraper(bench.kubeconfig)
    try:
        # Does a scrape count itself? Two scrapes back to back should show no difference.
        first = scraper.counts()
        scrape_cost = sum((scraper.counts() - first).values())
        t0 = time.monotonic()
        before = scraper.counts()
        await asyncio.sleep(IDLE_WINDOW)
        idle = scraper.counts() - before
        background_per_s = sum(idle.values()) / (time.monotonic() - t0)
        bench.note(f"discovery: idle background {background_per_s:.3f} req/s ({dict(idle)})")

        drivers: list[Any] = [bench.raw_kubectl()]
        for mode in CACHE_MODES:
            drivers += [
                bench.rest(mode),
                await bench.mcp_http(mode),
                await bench.mcp_stdio(mode),
                bench.run(mode),
            ]
        rows: dict[str, Any] = {}
        for driver in drivers:
            await driver.call(COMMAND)  # raw kubectl: the cache is now warm
            t0 = time.monotonic()
            before = scraper.counts()
            errors = 0
            for _ in range(calls):
                errors += not (await driver.call(COMMAND)).ok
            diff: Counter[str] = scraper.counts() - before
            elapsed = time.monotonic() - t0
            total = sum(diff.values()) - scrape_cost - background_per_s * elapsed
            rows[driver.name] = {
                "per_call": round(max(total, 0) / calls, 3),
                "breakdown": {k: round(v / calls, 3) for k, v in sorted(diff.items())},
                "errors": errors,
            }
            bench.note(f"discovery {driver.name}: {rows[driver.name]['per_call']} req/call")
            await driver.aclose()
        return {
            "command": COMMAND,
            "calls": calls,
            "scrape_cost": scrape_cost,
            "background_per_s": round(background_per_s, 4),
            "rows": rows,
        }
    finally:
        scraper.close()
