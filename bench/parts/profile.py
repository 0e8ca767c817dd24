"""Where the server's time goes: py-spy samples `k8smcp serve` under load.

32 clients (half REST, half MCP HTTP) call `get ns` while py-spy records the server
process (not its kubectl children) for SECONDS. Shares are of the samples py-spy took
while the process was on the CPU (py-spy leaves idle samples out by default).
"""

from __future__ import annotations

import asyncio
import gzip
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.parts.throughput import measure

RATE = 100
SECONDS = 20
CONCURRENCY = 32
BIG_CONCURRENCY = 8  # `get pods -A -o json`: about 2 MB per answer
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# frames every sample shares, which say nothing about where the time goes
_GENERIC = ("asyncio/runners.py", "asyncio/base_events.py", "uvicorn/server.py", "<module>")


def _py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# Where a sample belongs, by the first rule whose text appears in its stack.
_AREAS = (
    ("shutil.py", "rmtree of the per-call directory (executor.py, its cleanup thread)"),
    ("tempfile.py", "creating the per-call directory and kubeconfig (executor.py)"),
    ("home_env", "creating the per-call directory and kubeconfig (executor.py)"),
    ("_make_workdir", "creating the per-call directory and kubeconfig (executor.py)"),
    ("_execute_child", "fork/exec of kubectl (subprocess.Popen, on the event loop)"),
    ("_do_waitpid", "asyncio's child-watcher threads (one per child)"),
    ("secrets.py", "Secret redaction (parse and re-encode the output)"),
    ("redact.py", "Secret redaction (parse and re-encode the output)"),
    ("(yaml/", "YAML (kubeconfig parse)"),
    ("kubeconfig.py", "kubeconfig decode and checks"),
    ("policy/", "policy checks"),
    ("(pydantic", "pydantic validation and serialization"),
    ("(mcp/", "MCP SDK (sessions, JSON-RPC, SSE)"),
    ("(json/", "JSON encoding of answers"),
    ("sse_starlette", "MCP SDK (sessions, JSON-RPC, SSE)"),
    ("executor.py", "executor (pipes, waiting, killing the group)"),
    ("(anyio/", "anyio task groups, pipes"),
    ("(h11", "HTTP stack (uvicorn, h11, starlette, fastapi)"),
    ("(starlette/", "HTTP stack (uvicorn, h11, starlette, fastapi)"),
    ("(fastapi/", "HTTP stack (uvicorn, h11, starlette, fastapi)"),
    ("(uvicorn/", "HTTP stack (uvicorn, h11, starlette, fastapi)"),
    ("threading.py", "other work in threads (anyio workers)"),
)


_WAITS = ("Condition.wait (", "Event.wait (", "_wait_for_tstate_lock (", "Queue.get (")


def _area(stack: str) -> str:
    leaf = stack.rsplit(";", 1)[-1].strip()
    if leaf.startswith(_WAITS):
        return "threads blocked in a wait (py-spy counts some waits as active)"
    for needle, area in _AREAS:
        if needle in stack:
            return area
    return "event loop and other"


def analyse(raw: str) -> dict[str, Any]:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    where: dict[str, str] = {}
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        areas[_area(stack)] += count
        seen: set[str] = set()
        leaf = None
        for frame in stack.split(";"):
            match = _FRAME.match(frame.strip())
            if not match or frame.startswith(("process ", "thread ")):
                continue
            key = f"{match['func']} ({_short(match['file'])})"
            where.setdefault(key, f"{_short(match['file'])}:{match['line'] or '?'}")
            leaf = key
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
        if leaf:
            own[leaf] += count
    rows = []
    for key, value in inclusive.most_common():
        if any(g in key for g in _GENERIC) or value / max(total, 1) < 0.02:
            continue
        if not where[key].startswith("k8smcp/"):  # the trunk of every stack says little
            continue
        rows.append(
            {
                "function": key.split(" (", 1)[0],
                "where": where[key],
                "inclusive": value / total,
                "self": own[key] / total,
            }
        )
    top_self = [
        {"function": k.split(" (", 1)[0], "where": where[k], "self": v / total}
        for k, v in own.most_common(15)
    ]
    by_area = [{"area": a, "share": v / max(total, 1)} for a, v in areas.most_common()]
    return {"samples": total, "top": rows[:20], "top_self": top_self, "areas": by_area}


async def _sample(
    bench: Bench, py_spy: str, pid: int, clients: list[Any], command: str, name: str
) -> dict[str, Any]:
    """py-spy on ``pid`` while ``clients`` call ``command``; the analysed samples."""
    out = bench.ws.dir("profile") / f"{name}.txt"
    spy = await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--rate", str(RATE),
        "--duration", str(SECONDS), "--format", "raw", "--output", str(out),
        "--nonblocking",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        outcomes, elapsed = await measure(clients, command, SECONDS + 2)
        _, err = await asyncio.wait_for(spy.communicate(), 60)
    finally:
        if spy.returncode is None:
            spy.kill()
            await spy.wait()
    if not out.exists():
        return {"failed": f"py-spy wrote nothing: {err.decode()[-500:]}"}
    raw = out.read_text()
    result = analyse(raw)
    (bench.args.out / f"{name}.txt.gz").write_bytes(gzip.compress(raw.encode(), mtime=0))
    result.update(
        rate=RATE,
        seconds=SECONDS,
        cpu_share=round(result["samples"] / (RATE * SECONDS), 3),
        load=f"{len(clients)} clients (REST and MCP HTTP) calling `kubectl {command}`",
        calls=len(outcomes),
        errors=sum(1 for o in outcomes if not o.ok),
        calls_per_s=round(len(outcomes) / elapsed, 1),
        stacks=f"{name}.txt.gz",
    )
    bench.note(f"profile {command}: {result['samples']} samples; {result['areas'][:4]}")
    return result


async def run(bench: Bench) -> dict[str, Any]:
    py_spy = _py_spy()
    if py_spy is None:
        return {"failed": "py-spy is not installed (pip install -r bench/requirements.txt)"}
    server = bench.server("on", 64)
    results: dict[str, Any] = {"loads": []}
    for command, concurrency, name in (
        ("get ns", CONCURRENCY, "profile-serve"),
        ("get pods -A -o json", BIG_CONCURRENCY, "profile-serve-big"),
    ):
        rest = bench.rest("on")
        sessions = [await bench.mcp_http("on") for _ in range(concurrency // 2)]
        clients = [rest] * (concurrency // 2) + sessions
        try:
            await rest.call(command)
            results["loads"].append(
                await _sample(bench, py_spy, server.pid, clients, command, name)
            )
        finally:
            await rest.aclose()
            for session in sessions:
                await session.aclose()
    return results
