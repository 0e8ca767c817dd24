"""Part 4: start-up: `k8smcp --help`, `stdio` to the first tools/list answer, `serve` ready."""

from __future__ import annotations

import random
import subprocess
import time
from typing import Any

from bench.clients import McpStdio
from bench.context import Bench
from bench.env import K8SMCP, KUBECTL, Server
from bench.stats import percentile

RUNS = 20
ORDER_SEED = 3  # the rounds' order is random, and the same in every run


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, timeout=60, check=True)
    return (time.perf_counter() - started) * 1000


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "median_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "min_ms": round(min(values), 1),
    }


def imports(argv: list[str], env: dict[str, str], depth: int = 2) -> list[tuple[str, int]]:
    """The slowest imports of a command down to ``depth`` (cumulative microseconds)."""
    proc = subprocess.run(
        argv,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    found: list[tuple[str, int]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        _self, cumulative, name = (part for part in rest.split("|"))
        level = (len(name) - len(name.lstrip()) - 1) // 2
        if level <= depth:  # the top level and the levels below it
            found.append(("  " * level + name.strip(), int(cumulative)))
    return sorted(found, key=lambda item: -item[1])[:12]


async def run(bench: Bench) -> dict[str, Any]:
    env = bench.k8smcp_env("on")
    _timed([K8SMCP, "--help"], env)  # page the interpreter and bytecode in
    commands = {
        "help": ([K8SMCP, "--help"], env),
        "version": ([K8SMCP, "--version"], env),
        "kubectl_version": ([KUBECTL, "version", "--client"], bench.kubectl_env()),
    }
    # Round by round, in a shuffled order, so that a slow minute of this shared machine
    # lands on every command alike instead of on one figure.
    times: dict[str, list[float]] = {name: [] for name in commands}
    rng = random.Random(ORDER_SEED)
    for _ in range(RUNS):
        for name in rng.sample(list(commands), len(commands)):
            times[name].append(_timed(*commands[name]))
    out: dict[str, Any] = {name: _summary(values) for name, values in times.items()}
    stdio: list[float] = []
    for _ in range(RUNS // 2):
        started = time.perf_counter()
        client = McpStdio([K8SMCP, "stdio", "--kubeconfig", str(bench.kubeconfig)], env)
        await client.start()
        answer = await client.list_tools()
        stdio.append((time.perf_counter() - started) * 1000)
        await client.aclose()
        assert answer.get("result", {}).get("tools"), answer
    out["stdio_tools_list"] = _summary(stdio)
    ready: list[float] = []
    for i in range(RUNS // 2):
        server = Server(env=env, log=bench.ws.dir("logs") / f"startup-serve-{i}.log")
        ready.append(server.ready_s * 1000)
        server.stop()
    out["serve_ready"] = _summary(ready)
    out["imports"] = imports([K8SMCP, "--help"], env)
    bench.note(
        "startup: "
        + ", ".join(f"{k} {v['median_ms']} ms" for k, v in out.items() if isinstance(v, dict))
    )
    return out
