"""Shared fixtures: a clean environment, kubeconfigs, a fake CLI for executor mechanics,
and real k8smcp processes (``serve`` on a free port, ``stdio`` through the SDK client).

The fake CLI exists only for what a real binary cannot do on demand (hang with a
grandchild, print a flood, dump its environment); everything else runs real kubectl.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN_DIR = Path(sys.executable).parent
K8SMCP = str(BIN_DIR / "k8smcp")
KUBECTL = shutil.which("kubectl", path=str(BIN_DIR)) or shutil.which("kubectl")
SECRET_TOKEN = "s3cr3t-token-value-never-in-logs"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's kubeconfig or K8SMCP_* settings."""
    for name in list(os.environ):
        if name.startswith("K8SMCP_") or name == "KUBECONFIG":
            monkeypatch.delenv(name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_kubeconfig(
    server: str = "https://127.0.0.1:1",
    *,
    context: str = "test",
    namespace: str | None = None,
    token: str = SECRET_TOKEN,
    extra_contexts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A minimal, valid kubeconfig (token auth) for ``server``."""
    ctx: dict[str, Any] = {"cluster": "c", "user": "u"}
    if namespace:
        ctx["namespace"] = namespace
    contexts = [{"name": context, "context": ctx}]
    clusters = [{"name": "c", "cluster": {"server": server}}]
    for i, (name, other) in enumerate((extra_contexts or {}).items()):
        clusters.append({"name": f"c{i}", "cluster": {"server": other}})
        contexts.append({"name": name, "context": {"cluster": f"c{i}", "user": "u"}})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": contexts,
        "current-context": context,
    }


def b64(data: dict[str, Any] | str | bytes) -> str:
    """Base64 of a kubeconfig given as a dict (JSON), text or bytes."""
    if isinstance(data, dict):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Listener:
    """What reached a ``listening`` socket: each connection's peer and first bytes."""

    port: int
    accepted: list[str] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)


@contextmanager
def listening(host: str = "127.0.0.1", answer: bytes = b"hello") -> Iterator[Listener]:
    """A TCP listener that records every connection and answers its first bytes."""
    sock = socket.create_server((host, 0))
    sock.settimeout(0.2)
    found = Listener(sock.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            found.accepted.append(str(peer))
            with conn:
                conn.settimeout(2)
                try:
                    found.received.append(conn.recv(4096))
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()
        sock.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


FAKE_CLI = textwrap.dedent(
    """\
    #!{python}
    # A stand-in CLI for executor mechanics: hang, flood, env, sleep, exit. A leading
    # "get" is skipped, so `get hang` passes the server-level policy as kubectl would.
    import json, os, subprocess, sys, time
    if sys.argv[1:2] == ["get"]:
        del sys.argv[1]
    mode = sys.argv[1] if len(sys.argv) > 1 else "env"
    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError:
            return None
    if mode == "hang":
        child = subprocess.Popen(["sleep", "300"])
        with open(os.environ["FAKE_PIDS"], "w") as f:
            f.write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(300)
    elif mode == "flood":
        n = int(sys.argv[2])
        chunk = b"x" * 65536
        for stream in (sys.stdout.buffer, sys.stderr.buffer):
            left = n
            while left > 0:
                stream.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
            stream.flush()
    elif mode == "env":
        home = os.environ.get("HOME", "")
        kubeconfig = os.environ.get("KUBECONFIG", "")
        info = {{
            "env": dict(os.environ),
            "argv": sys.argv[1:],
            "stdin": sys.stdin.read() if not sys.stdin.isatty() else None,
            "cwd": os.getcwd(),
            "home_mode": oct(os.stat(os.path.dirname(home)).st_mode & 0o777) if home else None,
            "kubeconfig_mode": oct(os.stat(kubeconfig).st_mode & 0o777)
                if os.path.exists(kubeconfig) else None,
            "kubeconfig": open(kubeconfig).read() if os.path.exists(kubeconfig) else None,
            # k8smcp's threads while this child runs, and what is beside the call
            # directory (None where a confined child may not look)
            "parent_threads": len(listing(f"/proc/{{os.getppid()}}/task") or ()) or None,
            "call_dirs": listing(os.path.dirname(os.getcwd())),
        }}
        print(json.dumps(info))
    elif mode == "sleep":
        start = time.time()
        time.sleep(float(sys.argv[2]))
        print(json.dumps({{"start": start, "end": time.time()}}))
    elif mode == "exit":
        sys.stderr.write("failing on purpose\\n")
        sys.exit(int(sys.argv[2]))
    """
)


@pytest.fixture(scope="session")
def fake_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An executable stand-in for kubectl (see FAKE_CLI)."""
    path = tmp_path_factory.mktemp("fakebin") / "fake-cli"
    path.write_text(FAKE_CLI.format(python=sys.executable))
    path.chmod(0o755)
    return path


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    """A TMPDIR for k8smcp processes, so a test can see what they leave behind."""
    path = tmp_path / "k8smcp-tmp"
    path.mkdir()
    return path


def leftovers(tmpdir: Path, wait: float = 5.0) -> list[str]:
    """What calls left in a k8smcp process's TMPDIR, once ``wait`` seconds pass or none is.

    A running process removes a call's directory just after the call (its answer does
    not wait), and keeps a few spare ones ready, which hold nothing but an empty ``home``
    and ``tmp``: those are not leftovers. After the process exits there are no spares.
    """
    deadline = time.monotonic() + wait
    while True:
        found = sorted(p.name for p in tmpdir.iterdir() if not _unused_spare(p))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _unused_spare(path: Path) -> bool:
    try:
        entries = {p.name: p for p in path.iterdir()}
    except OSError:
        return False
    return set(entries) == {"home", "tmp"} and not any(any(p.iterdir()) for p in entries.values())


def k8smcp_env(tmpdir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a k8smcp subprocess gets in tests: PATH with the venv first.

    No warm process (a `run` on a terminal starts one) unless a test asks for it.
    """
    env = {
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "K8SMCP_WARM": "0",
    }
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    env.update(extra)
    return env


def run_k8smcp(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``k8smcp ARGS`` as a subprocess, as a user or a script runs it."""
    return subprocess.run(
        [K8SMCP, *args],
        env=env or k8smcp_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


class Server:
    """A real ``k8smcp serve`` process on a free loopback port."""

    def __init__(
        self, *args: str, env: dict[str, str], log: Path, ready_timeout: float = 90
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = f"{self.url}/mcp"
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [K8SMCP, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"k8smcp serve exited: {log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"k8smcp serve did not answer /health: {log.read_text()}")

    def post(self, tool: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/tools/{tool}", json=body, timeout=120, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def _server_factory(directory: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        log = directory / f"serve-{len(servers)}.log"
        server = Server(*args, env=env or k8smcp_env(), log=log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """A factory: ``start_server(*args, env=...)`` starts ``k8smcp serve``; all stop after."""
    yield from _server_factory(tmp_path)


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``start_server`` for servers shared by a module's tests."""
    yield from _server_factory(tmp_path_factory.mktemp("servers"))


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process (zombies count as dead)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return status != "Z"
