"""Part 8: `k8smcp run` and `k8smcp call` per call, beside raw kubectl (issue 17).

Scripts call `k8smcp call` in loops and people type `k8smcp run` all day, so each pays a
Python start-up per call. `get ns` with the admin kubeconfig (a file, as a user has it),
discovery cache on, in shuffled rounds with raw kubectl (GOGC=200, as k8smcp's children
run) and `k8smcp --version` (Python, Typer and k8smcp's CLI module: the floor every
command pays). `call` talks to a server started before the rounds. Where `call`'s time
goes: the server's own time for the command (`duration_ms` of `--json`), and its
slowest imports (`-X importtime`, cumulative). And what was measured: an editable
install (the development venv) pays setuptools' import finder at every start, ~15 ms
that a wheel install (what users run) does not; an interpreter built without PGO/LTO
runs Python code slower than the official images' and the distributions' builds.
`run` is measured twice: as a script runs it (stderr not a terminal: cold), and as at a
terminal, where a warm process serves it by default (README, `k8smcp run`); the bench's
stderr is a pipe, so that driver sets K8SMCP_WARM=1, the same path past the terminal
check, with a warm process of its own started before the rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from bench.clients import _subprocess
from bench.context import Bench
from bench.env import K8SMCP
from bench.parts.latency import WARMUP, _named, _summary, rounds
from bench.parts.startup import imports
from bench.stats import percentile

COMMAND = "get ns"
MODE = "on"


class _Version:
    """`k8smcp --version`: the start-up every command pays, for the breakdown."""

    name = "k8smcp --version (start-up floor)"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def call(self, command: str) -> Any:
        return await _subprocess([K8SMCP, "--version"], self.env)

    async def aclose(self) -> None:
        pass


async def run(bench: Bench) -> dict[str, Any]:
    calls = max(bench.args.slow_calls, 1)
    raw = bench.raw_kubectl()
    k8smcp_run, k8smcp_call = bench.run(MODE), bench.call(MODE)
    warm = bench.run(MODE, warm=True)
    floor = _Version(bench.k8smcp_env(MODE))
    drivers = _named(raw, k8smcp_run, warm, k8smcp_call, floor)
    try:
        await warm.call(COMMAND)  # starts the warm process
        await warm.ready()
        for _, driver in drivers:
            for _ in range(WARMUP):
                await driver.call(COMMAND)
        deadline = float("inf")
        summary = _summary(await rounds(bench, drivers, COMMAND, calls, deadline))
    finally:
        await warm.aclose()
    out: dict[str, Any] = {"command": COMMAND, "calls": calls, "rows": summary}
    out["install"] = installed()
    out["call_server_ms"] = _server_ms(k8smcp_call.env, k8smcp_call.url)
    out["call_imports"] = imports(
        [K8SMCP, "call", "--url", k8smcp_call.url, "kubectl", *COMMAND.split()],
        k8smcp_call.env,
        depth=1,
    )
    out["run_imports"] = imports(
        [K8SMCP, "run", "--kubeconfig", str(bench.kubeconfig), "kubectl", *COMMAND.split()],
        k8smcp_run.env,
        depth=1,
    )
    bench.note(
        "percall: "
        + ", ".join(
            f"{n} {r['median_ms']:.0f} ms ({r['ratio_median']}×)" for n, r in summary.items()
        )
        + f"; k8smcp {out['install']['k8smcp']}, Python {out['install']['python']}"
    )
    return out


def installed() -> dict[str, str]:
    """How the measured k8smcp is installed, and how its interpreter was built."""
    site = Path(sysconfig.get_paths()["purelib"])
    editable = any(site.glob("__editable__*k8smcp*"))
    flags = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    built = [f for f in ("--enable-optimizations", "--with-lto", "--enable-shared") if f in flags]
    return {
        "k8smcp": "editable install (setuptools finder at start)"
        if editable
        else "regular install",
        "python": f"{sys.version.split()[0]} ({', '.join(built) or 'no PGO/LTO flags'})",
    }


def _server_ms(env: dict[str, str], url: str, runs: int = 10) -> float:
    """The median time the server reports for the command itself (kubectl's run)."""
    found = []
    for _ in range(runs):
        done = subprocess.run(
            [K8SMCP, "call", "--url", url, "--json", "kubectl", *COMMAND.split()],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found.append(float(json.loads(done.stdout)["duration_ms"]))
    return round(percentile(found, 50), 1)
