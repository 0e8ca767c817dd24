"""Part 5: the server process's memory (VmRSS/VmHWM of that process only, not its children).

Idle after start; the peak under 64 concurrent calls (VmHWM, reset just before the
burst where the kernel allows it); then RSS after a tenth of the calls and after all
of them (5000 by default), which should not grow.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.context import Bench
from bench.env import proc_status, reset_hwm

COMMAND = "get ns"
PEAK_CONCURRENCY = 64
STEADY_CONCURRENCY = 16
TIME_LIMIT = 1800.0  # the whole part stops adding calls after this long


async def _calls(clients: list[Any], total: int, concurrency: int, deadline: float) -> int:
    """``total`` calls spread over ``concurrency`` workers, alternating the clients."""
    errors = 0
    queue = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in queue:
            if time.monotonic() > deadline:
                return
            outcome = await clients[i % len(clients)].call(COMMAND)
            errors += not outcome.ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


async def run(bench: Bench) -> dict[str, Any]:
    total = max(bench.args.memory_calls, 10)
    first = max(total // 10, 1)
    server = bench.server("on", 64)
    pid = server.pid
    marks: list[dict[str, Any]] = []

    def mark(when: str) -> dict[str, Any]:
        status = proc_status(pid)
        marks.append({"when": when, **status})
        rss, hwm = status["VmRSS"] / 1024, status["VmHWM"] / 1024
        bench.note(f"memory {when}: RSS {rss:.1f} MB, HWM {hwm:.1f} MB")
        return status

    await asyncio.sleep(2)
    idle = mark("idle, before any call")
    rest = bench.rest("on")
    mcp = await bench.mcp_http("on")
    clients = [rest, mcp]
    deadline = time.monotonic() + TIME_LIMIT
    errors = 0
    try:
        hwm_reset = reset_hwm(pid)
        errors += await _calls(clients, PEAK_CONCURRENCY * 2, PEAK_CONCURRENCY, deadline)
        peak = mark(f"after {PEAK_CONCURRENCY * 2} calls, {PEAK_CONCURRENCY} at a time")
        done = PEAK_CONCURRENCY * 2
        errors += await _calls(clients, max(first - done, 0), STEADY_CONCURRENCY, deadline)
        done = max(first, done)
        at_first = mark(f"after {done} calls")
        errors += await _calls(clients, total - done, STEADY_CONCURRENCY, deadline)
        at_all = mark(f"after {total} calls")
    finally:
        await rest.aclose()
        await mcp.aclose()
    return {
        "idle_kb": idle["VmRSS"],
        "peak_kb": peak["VmHWM"],
        "peak_concurrency": PEAK_CONCURRENCY,
        "hwm_reset": hwm_reset,
        "calls_first": done,
        "calls_all": total,
        "rss_first_kb": at_first["VmRSS"],
        "rss_all_kb": at_all["VmRSS"],
        "growth_kb": at_all["VmRSS"] - at_first["VmRSS"],
        "errors": errors,
        "marks": marks,
        "timed_out": time.monotonic() > deadline,
    }
