"""Runs the chosen parts against a testbed it starts, then writes the report."""

from __future__ import annotations

import asyncio
import base64
import compileall
import importlib
import json
import shutil
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import env, report
from bench.context import MAX_OUTPUT_BYTES, Bench, discovery_cache_present

PARTS = (
    "latency",
    "throughput",
    "discovery",
    "startup",
    "memory",
    "peers",
    "profile",
    "percall",
    "wire",
    "confinement",
    "tokens",
)


def main(args: Any) -> int:
    # As an install does: with PYTHONDONTWRITEBYTECODE set (this machine's sessions set it),
    # every module changed since the last compile was compiled again at every start.
    compileall.compile_dir(env.REPO / "k8smcp", quiet=1)
    ws = env.Workspace.create()
    args.out.mkdir(parents=True, exist_ok=True)
    testbed = None
    started = time.time()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "machine": env.machine(),
        "versions": env.versions(),
        "discovery_cache_setting_present": discovery_cache_present(),
        "k8smcp_max_output_bytes": MAX_OUTPUT_BYTES,
        "args": {
            k: (str(v) if not isinstance(v, (int, float, list, bool, type(None))) else v)
            for k, v in vars(args).items()
        },
        "parts": {},
    }
    try:
        if args.kubeconfig:
            cluster: Any = _ExistingCluster(args.kubeconfig)
        else:
            from tests import testbed as tb_module

            t0 = time.monotonic()
            testbed = tb_module.start_testbed()
            cluster = testbed.a
            results["testbed_start_s"] = round(time.monotonic() - t0, 2)
            results["versions"]["kube-apiserver"] = _server_version(cluster)
        kubeconfig, kubeconfig_b64 = cluster.admin_kubeconfig, cluster.admin_kubeconfig_b64
        named = None
        if testbed is not None and not args.loopback_literal:
            named = env.by_name(kubeconfig, ws.dir("kubeconfig") / "admin-by-name.kubeconfig")
        if named is not None:
            kubeconfig, kubeconfig_b64 = named
        results["server"] = "by this host's name" if named else "as the kubeconfig says"
        bench = Bench(
            args=args,
            ws=ws,
            cluster=cluster,
            kubeconfig=kubeconfig,
            kubeconfig_b64=kubeconfig_b64,
        )
        how = f"by name ({socket.gethostname()})" if named else "as its kubeconfig says"
        bench.note(f"cluster {cluster.server}, reached {how}; workspace {ws.root}")
        if not args.no_seed:
            results["seed"] = env.seed(cluster, bench.log)
            bench.note(f"seeded: {results['seed']}")
        for part in args.parts:
            bench.note(f"part {part}: start")
            t0 = time.monotonic()
            try:
                module = importlib.import_module(f"bench.parts.{part}")
                results["parts"][part] = asyncio.run(module.run(bench))
            except Exception as exc:  # a failed part is reported, the others still run
                traceback.print_exc()
                results["parts"][part] = {"failed": f"{type(exc).__name__}: {exc}"}
            finally:
                bench.stop_servers()
            results["parts"][part]["elapsed_s"] = round(time.monotonic() - t0, 1)
            bench.note(f"part {part}: done in {results['parts'][part]['elapsed_s']} s")
        results["log"] = bench.log
    finally:
        if testbed is not None:
            testbed.stop()
        logs = ws.root / "logs"
        if logs.exists():  # the servers' and peers' logs outlive the run, outside the repo
            kept = Path(tempfile.gettempdir()) / f"k8smcp-bench-logs-{int(started)}"
            shutil.copytree(logs, kept, dirs_exist_ok=True)
            print(f"logs kept in {kept}")
        ws.cleanup()
    results["elapsed_s"] = round(time.time() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    report.write(results, args.out)
    report.print_table(results)
    print(f"wrote {args.out}/results.json, report.md and plots")
    return 0


def _server_version(cluster: Any) -> str:
    out = cluster.kubectl("version", "-o", "json", check=False).stdout
    try:
        return str(json.loads(out)["serverVersion"]["gitVersion"])
    except (ValueError, KeyError):
        return "?"


class _ExistingCluster:
    """A cluster given by an admin kubeconfig, shaped like the testbed's Cluster."""

    def __init__(self, path: Any) -> None:
        import subprocess

        import yaml

        self.admin_kubeconfig = path.resolve()
        raw = self.admin_kubeconfig.read_bytes()
        self.admin_kubeconfig_b64 = base64.b64encode(raw).decode()
        config = yaml.safe_load(raw)
        self.server = config["clusters"][0]["cluster"]["server"]
        self._subprocess = subprocess

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> Any:
        proc = self._subprocess.run(
            [env.KUBECTL, "--kubeconfig", str(self.admin_kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc
