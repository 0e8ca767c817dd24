"""The benchmark's surroundings: the testbed, its seed objects, k8smcp processes, /proc.

Nothing here imports pytest: the few helpers borrowed from tests/conftest.py are
repeated in a handful of lines.
"""

from __future__ import annotations

import base64
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

BIN_DIR = Path(sys.executable).parent
K8SMCP = str(BIN_DIR / "k8smcp")
KUBECTL = shutil.which("kubectl", path=str(BIN_DIR)) or shutil.which("kubectl") or "kubectl"
REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("K8SMCP_BENCH_CACHE", Path.home() / ".cache" / "k8smcp" / "bench"))

# What the benchmark seeds on cluster A: a namespace of many kwok pods (the
# "few hundred objects" of `get pods -A -o json`) and a small one the peers list.
BIG_NS = "bench"
BIG_REPLICAS = 300
SMALL_NS = "bench-small"
SMALL_REPLICAS = 10
EXTRA_NODES = 3  # kwok nodes take 110 pods each; one is not enough for 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Workspace:
    """Temp dirs of one benchmark run: a persistent HOME for raw kubectl, one for k8smcp."""

    root: Path

    @classmethod
    def create(cls) -> Workspace:
        return cls(Path(tempfile.mkdtemp(prefix="k8smcp-bench-")))

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def k8smcp_env(home: Path, **extra: str) -> dict[str, str]:
    """A k8smcp process's environment: the venv first on PATH, a HOME of the bench's own."""
    env = {
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def kubectl_env(home: Path, kubeconfig: Path, **extra: str) -> dict[str, str]:
    """Raw kubectl as a person runs it: a kubeconfig file and a HOME that keeps its cache."""
    return {
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "KUBECONFIG": str(kubeconfig),
        **extra,
    }


def by_name(kubeconfig: Path, out: Path) -> tuple[Path, str] | None:
    """``kubeconfig`` with its loopback server named by this host's name, written to ``out``.

    Clouds' clusters are reached by name, and so Go sends a confined child's connection
    to the egress proxy through HTTPS_PROXY; a loopback literal (the testbed's own URL)
    is the one kind of server it reaches through ``proxy-url`` instead, which costs kubectl
    a TLS set-up per object it lists (client-go caches no transport whose proxy is a
    function). None when this host's name does not resolve to loopback alone.
    """
    import yaml

    name = socket.gethostname()
    try:
        found = {
            str(info[4][0]) for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        }
    except OSError:
        return None
    if not found or not all(ip.startswith("127.") or ip == "::1" for ip in found):
        return None
    config = yaml.safe_load(kubeconfig.read_text())
    for entry in config.get("clusters") or []:
        cluster = entry["cluster"]
        split = urlsplit(cluster["server"])
        if split.hostname != "127.0.0.1":
            return None
        cluster["server"] = split._replace(netloc=f"{name}:{split.port}").geturl()
        cluster["tls-server-name"] = "127.0.0.1"  # what the testbed's certificate names
    out.write_text(yaml.safe_dump(config))
    out.chmod(0o600)
    return out, base64.b64encode(out.read_bytes()).decode()


class Server:
    """A real ``k8smcp serve`` on a free loopback port, its output in a log file."""

    def __init__(self, *args: str, env: dict[str, str], log: Path, ready_timeout: float = 30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = f"{self.url}/mcp"
        self.log = log
        self._log_file = log.open("w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [K8SMCP, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.process.pid
        deadline = started + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"k8smcp serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    self.ready_s = time.monotonic() - started
                    return
            except httpx.HTTPError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"k8smcp serve did not answer /health: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (kB) of one process, children excluded."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def reset_hwm(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def seed(cluster: object, log: list[str], timeout: float = 180) -> dict[str, int]:
    """Create the objects the benchmark lists and wait until the pods exist.

    Returns the number of pods in each seeded namespace and in all namespaces.
    """
    kubectl = cluster.kubectl  # type: ignore[attr-defined]
    nodes = []
    for i in range(1, EXTRA_NODES + 1):
        nodes.append(_NODE.format(name=f"kwok-node-{i}"))
    kubectl("apply", "-f", "-", input="---\n".join(nodes))
    for ns, replicas in ((BIG_NS, BIG_REPLICAS), (SMALL_NS, SMALL_REPLICAS)):
        kubectl("create", "namespace", ns, check=False)
        kubectl("apply", "-n", ns, "-f", "-", input=_DEPLOY.format(replicas=replicas))
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {}
        for ns, _want in ((BIG_NS, BIG_REPLICAS), (SMALL_NS, SMALL_REPLICAS)):
            out = kubectl("get", "pods", "-n", ns, "--no-headers", check=False).stdout
            running = sum(1 for line in out.splitlines() if " Running " in line)
            counts[ns] = running
        if all(
            counts[ns] >= want for ns, want in ((BIG_NS, BIG_REPLICAS), (SMALL_NS, SMALL_REPLICAS))
        ):
            break
        time.sleep(2)
    out = kubectl("get", "pods", "-A", "--no-headers", check=False).stdout
    counts["all"] = len(out.splitlines())
    log.append(f"seeded pods: {counts}")
    return counts


_NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: {name}
    type: kwok
status:
  allocatable: {{cpu: "32", memory: 256Gi, pods: "110"}}
  capacity: {{cpu: "32", memory: 256Gi, pods: "110"}}
"""

_DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1
"""


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) // 1024 // 1024} GiB"
                break
    except OSError:
        pass
    return info


def versions() -> dict[str, str]:
    """k8smcp's commit and version, kubectl's client and the cluster's server version."""
    out: dict[str, str] = {}
    try:
        out["k8smcp_commit"] = subprocess.run(
            ["git", "-C", str(REPO), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    from k8smcp import __version__

    out["k8smcp"] = __version__
    kv = subprocess.run(
        [KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=10
    )
    try:
        import json

        out["kubectl"] = json.loads(kv.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        pass
    return out
