"""`k8smcp run` on a terminal or with K8SMCP_WARM=1: the same command, run by a warm worker.

Through the console script as a subprocess, against the testbed's real API servers: the
first run starts the warm process, the next ones are served by it, and each gives what a
cold run gives (output, exit code, standard input, the caller's environment and working
directory); Ctrl-C reaches the command; the warm process leaves when idle; a directory
others can enter gets no warm process at all.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import K8SMCP, k8smcp_env, run_k8smcp
from tests.testbed import Cluster

pytestmark = pytest.mark.integration


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR; every warm process started in it is stopped after."""
    path = Path(tempfile.mkdtemp(prefix="k8smcp-xdg-"))
    yield path
    for pid_file in path.glob("k8smcp/*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
    _until(lambda: not list(path.glob("k8smcp/*.pid")), "the warm process to leave")
    shutil.rmtree(path, ignore_errors=True)


def _env(runtime: Path, cluster: Cluster, **extra: str) -> dict[str, str]:
    env = k8smcp_env(XDG_RUNTIME_DIR=str(runtime), KUBECONFIG=str(cluster.admin_kubeconfig))
    return {**env, "K8SMCP_WARM": "1", **extra}


def _until(ready: Callable[[], object], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _ran(argv: list[str], env: dict[str, str], **given: Any) -> subprocess.CompletedProcess[str]:
    """``argv`` run to its end, its output captured, with nothing on its stdin."""
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, **given
    )


def _warm_pid(runtime: Path) -> int | None:
    for pid_file in runtime.glob("k8smcp/*.pid"):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
        except (ValueError, OSError):
            continue
        return pid
    return None


def _warmed(runtime: Path, env: dict[str, str]) -> int:
    """Run once (which starts the warm process) and wait until it serves: its pid."""
    done = run_k8smcp("run", "kubectl", "version", "--client", env=env)
    assert done.returncode == 0, done.stderr
    _until(lambda: _warm_pid(runtime) is not None, "the warm process")
    pid = _warm_pid(runtime)
    assert pid is not None
    return pid


def _grandparent_tool(tmp_path: Path) -> Path:
    """A stand-in kubectl that prints its parent's parent: the caller when the command ran
    in the caller (a cold run), the warm process when a worker of it ran the command."""
    tool = tmp_path / "kubectl"
    tool.write_text('#!/bin/sh\nsed -n "s/^PPid:\\t//p" /proc/$PPID/status\n')
    tool.chmod(0o755)
    return tool


def _parent_of_the_tool(
    tmp_path: Path, env: dict[str, str], *, terminal: bool = False
) -> tuple[int, int]:
    """(the k8smcp process's pid, the pid of the process that started the tool's parent).

    ``terminal``: stderr on a pseudo-terminal, as when a person types the command.
    """
    tool = _grandparent_tool(tmp_path)
    leader, follower = pty.openpty() if terminal else (-1, -1)
    proc = subprocess.Popen(
        [K8SMCP, "run", "--kubectl-bin", str(tool), "kubectl", "version", "--client"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower if terminal else subprocess.PIPE,
        text=True,
    )
    if terminal:
        os.close(follower)
    out, err = proc.communicate(timeout=60)
    if terminal:
        os.close(leader)
    assert proc.returncode == 0, err
    return proc.pid, int(out.strip())


def test_a_warm_process_runs_the_command_the_next_time(
    runtime: Path, cluster_a: Cluster, tmp_path: Path
) -> None:
    env = _env(runtime, cluster_a)
    caller, grandparent = _parent_of_the_tool(tmp_path, env)
    assert grandparent != caller or _warm_pid(runtime) is None  # the first ran here...
    warm = _warmed(runtime, env)
    caller, grandparent = _parent_of_the_tool(tmp_path, env)
    assert grandparent == warm != caller  # ...the next in a worker of the warm process
    cold = _parent_of_the_tool(tmp_path, {**env, "K8SMCP_WARM": "0"})
    assert cold[1] != warm  # and not without K8SMCP_WARM


def test_on_a_terminal_run_is_warm_unless_k8smcp_warm_says_no(
    runtime: Path, cluster_a: Cluster, tmp_path: Path
) -> None:
    """A person typing `run` gets the warm process without asking; K8SMCP_WARM=0 opts out."""
    env = {k: v for k, v in _env(runtime, cluster_a).items() if k != "K8SMCP_WARM"}
    _, grandparent = _parent_of_the_tool(tmp_path, env, terminal=True)
    assert grandparent == os.getpid()  # the caller ran it (its parent is this test)...
    _until(lambda: _warm_pid(runtime) is not None, "the warm process")
    warm = _warm_pid(runtime)
    caller, grandparent = _parent_of_the_tool(tmp_path, env, terminal=True)
    assert grandparent == warm != caller  # ...and started the warm process, which runs it now
    _, grandparent = _parent_of_the_tool(tmp_path, {**env, "K8SMCP_WARM": "0"}, terminal=True)
    assert grandparent == os.getpid() != warm


def test_the_warm_process_imports_nothing_from_the_directory_it_was_started_in(
    runtime: Path, cluster_a: Cluster, tmp_path: Path
) -> None:
    """A `run` in a checkout of someone else's: a file named as a module stays a file."""
    marker = tmp_path / "imported"
    for module in ("selectors.py", "yaml.py", "typer.py"):  # modules the warm process loads
        (tmp_path / module).write_text(f"open({str(marker)!r}, 'a').write({module!r})\n")
    env = _env(runtime, cluster_a)
    done = _ran([K8SMCP, "run", "kubectl", "version", "--client"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _until(lambda: _warm_pid(runtime) is not None, "the warm process")
    pid = _warm_pid(runtime)
    served = _ran(
        [K8SMCP, "run", "kubectl", "get", "ns", "default", "-o", "name"], env, cwd=tmp_path
    )
    assert (served.returncode, served.stdout) == (0, "namespace/default\n"), served.stderr
    assert not marker.exists()
    assert os.readlink(f"/proc/{pid}/cwd") == "/"  # the directory is not held either


def test_a_warm_run_gives_what_a_cold_run_gives(
    runtime: Path, cluster_a: Cluster, cluster_b: Cluster, tmp_path: Path
) -> None:
    env = _env(runtime, cluster_a)
    _warmed(runtime, env)
    cold = {**env, "K8SMCP_WARM": "0"}
    for args in (
        [
            "run",
            "kubectl",
            "get",
            "ns",
            "default",
            "kube-system",
            "-o",
            "custom-columns=NAME:.metadata.name,PHASE:.status.phase",
        ],
        ["run", "kubectl", "get", "pod", "no-such-pod"],  # kubectl's exit code 1
        ["run", "--json", "kubectl", "get", "ns", "default", "-o", "name"],
        ["run", "kubectl", "delete", "ns", "default", "--dry-run=client", "--bogus"],
        ["run", "--help"],
    ):
        warm_done, cold_done = run_k8smcp(*args, env=env), run_k8smcp(*args, env=cold)
        assert warm_done.returncode == cold_done.returncode, (args, warm_done.stderr)
        if "--json" in args:
            pick = ("exit_code", "stdout", "stderr", "argv", "ok")
            warm_json, cold_json = json.loads(warm_done.stdout), json.loads(cold_done.stdout)
            assert {k: warm_json[k] for k in pick} == {k: cold_json[k] for k in pick}
        else:
            assert warm_done.stdout == cold_done.stdout, args
            assert warm_done.stderr == cold_done.stderr, args
    # the caller's environment: KUBECONFIG names the other cluster
    name = f"warm-{uuid.uuid4().hex[:8]}"
    cluster_b.kubectl("create", "namespace", name)
    try:
        on_b = run_k8smcp("run", "kubectl", "get", "ns", name, "-o", "name", env=env)
        assert on_b.returncode != 0  # cluster A has no such namespace
        env_b = {**env, "KUBECONFIG": str(cluster_b.admin_kubeconfig)}
        on_b = run_k8smcp("run", "kubectl", "get", "ns", name, "-o", "name", env=env_b)
        assert (on_b.returncode, on_b.stdout) == (0, f"namespace/{name}\n"), on_b.stderr
    finally:
        cluster_b.kubectl("delete", "namespace", name, "--wait=false")
    # the caller's working directory (a relative --kubeconfig) and standard input
    (tmp_path / "relative.kubeconfig").write_bytes(cluster_a.admin_kubeconfig.read_bytes())
    configmap = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{k: v}}\n"
    done = subprocess.run(
        [K8SMCP, "run", "--kubeconfig", "relative.kubeconfig", "kubectl", "apply", "-f", "-"],
        env={k: v for k, v in env.items() if k != "KUBECONFIG"},
        cwd=tmp_path,
        input=configmap,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"configmap/{name} created\n"
        got = cluster_a.kubectl("get", "configmap", name, "-o", "jsonpath={.data.k}")
        assert got.stdout == "v"
    finally:
        cluster_a.kubectl("delete", "configmap", name, check=False)


def _watching(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """A `run` of a kubectl watch, once the watch has started; and its marker."""
    marker = f"warm-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [K8SMCP, "run", "kubectl", "get", "pods", "-A", "-w", "-l", f"stop={marker}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _until(lambda: _tools_with(marker), "the watch to start")
    return proc, marker


def test_ctrl_c_stops_a_warm_run_and_its_tool(runtime: Path, cluster_a: Cluster) -> None:
    env = _env(runtime, cluster_a)
    _warmed(runtime, env)
    proc, marker = _watching(env)
    proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends the caller
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    _until(lambda: not _tools_with(marker), "the watching kubectl to end", timeout=10)


def test_ctrl_z_stops_the_command_with_the_run_and_fg_continues_it(
    runtime: Path, cluster_a: Cluster
) -> None:
    env = _env(runtime, cluster_a)
    _warmed(runtime, env)
    proc, marker = _watching(env)
    (tool,) = _tools_with(marker)
    worker = _ppid(tool)
    proc.send_signal(signal.SIGTSTP)  # what a terminal's Ctrl-Z sends the caller
    _until(lambda: _state(proc.pid) == "T" and _state(worker) == "T", "both to stop")
    proc.send_signal(signal.SIGCONT)  # what fg or bg sends
    _until(lambda: _state(proc.pid) != "T" and _state(worker) != "T", "both to go on")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    # stopped, then killed: the warm process still ends the command
    proc, marker = _watching(env)
    proc.send_signal(signal.SIGTSTP)
    _until(lambda: _state(proc.pid) == "T", "the run to stop")
    proc.kill()
    proc.communicate(timeout=10)
    _until(lambda: not _tools_with(marker), "the watching kubectl to end", timeout=10)


def _state(pid: int) -> str:
    """A process's state letter (R, S, T for stopped, ...)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_killed_caller_takes_its_command_with_it(runtime: Path, cluster_a: Cluster) -> None:
    """The watch ends when the `run` that asked for it is killed, and the warm process
    serves on. (A cold run killed so leaves its kubectl, in a session of its own.)"""
    env = _env(runtime, cluster_a)
    warm = _warmed(runtime, env)
    proc, marker = _watching(env)
    proc.kill()  # no signal to pass on: the warm process sees the caller's end close
    proc.communicate(timeout=10)
    _until(lambda: not _tools_with(marker), "the watching kubectl to end", timeout=10)
    done = run_k8smcp("run", "kubectl", "get", "ns", "default", "-o", "name", env=env)
    assert (done.returncode, done.stdout) == (0, "namespace/default\n"), done.stderr
    assert _warm_pid(runtime) == warm


def test_a_warm_process_started_where_ctrl_c_is_ignored_still_passes_it_on(
    runtime: Path, cluster_a: Cluster
) -> None:
    """A script's background job ignores SIGINT; the warm process it starts must not, or
    no later worker would stop at Ctrl-C."""
    env = _env(runtime, cluster_a)
    ignore_ctrl_c = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    done = _ran([K8SMCP, "run", "kubectl", "version", "--client"], env, preexec_fn=ignore_ctrl_c)
    assert done.returncode == 0, done.stderr
    _until(lambda: _warm_pid(runtime) is not None, "the warm process")
    status = Path(f"/proc/{_warm_pid(runtime)}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))[7:], 16)
    assert not ignored & (1 << (signal.SIGINT - 1))


def test_a_warm_process_whose_pid_file_is_gone_leaves_for_a_new_one(
    runtime: Path, cluster_a: Cluster
) -> None:
    """Callers trust only the process their pid file names (a cleaned /tmp, a logout's
    XDG_RUNTIME_DIR): the one it no longer names steps aside."""
    env = _env(runtime, cluster_a)
    old = _warmed(runtime, env)
    (pid_file,) = runtime.glob("k8smcp/*.pid")
    pid_file.unlink()
    done = run_k8smcp("run", "kubectl", "get", "ns", "default", "-o", "name", env=env)
    assert (done.returncode, done.stdout) == (0, "namespace/default\n"), done.stderr
    _until(lambda: not Path(f"/proc/{old}").exists(), "the old warm process to leave")
    done = run_k8smcp("run", "kubectl", "version", "--client", env=env)  # starts a new one
    assert done.returncode == 0, done.stderr
    _until(lambda: _warm_pid(runtime) not in (None, old), "a new warm process")


def _address(env: dict[str, str]) -> str:
    """The warm process's socket name for ``env``, as `k8smcp` itself works it out."""
    program = "from k8smcp.cli import warm; print(warm.place()[0][1:])"
    found = subprocess.run(
        [str(Path(K8SMCP).parent / "python"), "-c", program],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return "\0" + found.stdout.strip()


def test_a_process_squatting_the_name_is_told_nothing(runtime: Path, cluster_a: Cluster) -> None:
    """Binding an abstract name needs no right (a confined CLI could): the caller checks
    that the pid file of its private directory names the process at the other end."""
    env = _env(runtime, cluster_a, AWS_SECRET_ACCESS_KEY="squatter-must-not-see-this")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as squatter:
        squatter.bind(_address(env))
        squatter.listen(8)
        squatter.settimeout(30)
        proc = subprocess.Popen(
            [K8SMCP, "run", "kubectl", "get", "ns", "default", "-o", "name"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        caller, _ = squatter.accept()
        with caller:
            caller.settimeout(30)
            got, fds, _, _ = socket.recv_fds(caller, 1 << 20, 3)
            while got and (more := caller.recv(1 << 20)):
                got += more
        out, err = proc.communicate(timeout=60)
    assert (got, fds) == (b"", [])  # not a byte, not a descriptor
    assert (proc.returncode, out) == (0, "namespace/default\n"), err  # it ran cold


def test_a_sandboxed_process_of_the_same_user_is_refused(
    runtime: Path, cluster_a: Cluster, tmp_path: Path
) -> None:
    """A caller with no_new_privs (as every CLI k8smcp confines, bubblewrap's, a seccomp
    sandbox's) is not as free as the warm process: it may not have a command run outside."""
    if "NoNewPrivs:\t1" in Path("/proc/self/status").read_text():
        pytest.skip("these tests already run with no_new_privs: no freer caller to compare")
    env = _env(runtime, cluster_a)
    warm = _warmed(runtime, env)
    tool = _grandparent_tool(tmp_path)
    sandboxed = (
        "import ctypes, os, sys\n"
        "assert ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) == 0\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    argv = [K8SMCP, "run", "--kubectl-bin", str(tool), "kubectl", "version", "--client"]
    done = _ran([sys.executable, "-c", sandboxed, *argv], env)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == os.getpid() != warm  # it ran in the caller, not in a worker
    served = _ran(argv, env)
    assert int(served.stdout) == warm  # the same command, unsandboxed: a worker ran it


def _tools_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        program = cmdline.split(b"\0")[0]
        if proc.name.isdigit() and program.endswith(b"kubectl") and marker.encode() in cmdline:
            found.append(int(proc.name))  # the tool (the caller's program is python)
    return found


def test_the_warm_process_leaves_when_idle(runtime: Path, cluster_a: Cluster) -> None:
    env = _env(runtime, cluster_a, K8SMCP_WARM_IDLE="1")
    pid = _warmed(runtime, env)
    _until(lambda: not Path(f"/proc/{pid}").exists(), "the idle warm process to exit")
    assert not list(runtime.glob("k8smcp/*")), "its pid file is removed"


def test_no_warm_process_where_others_could_reach_it(runtime: Path, cluster_a: Cluster) -> None:
    shared = runtime / "k8smcp"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # whatever the umask
    env = _env(runtime, cluster_a)
    done = run_k8smcp("run", "kubectl", "get", "ns", "default", "-o", "name", env=env)
    assert (done.returncode, done.stdout) == (0, "namespace/default\n"), done.stderr
    time.sleep(1)
    assert list(shared.iterdir()) == []  # ran cold; no warm process was started


def test_without_k8smcp_warm_nothing_is_left_running(runtime: Path, cluster_a: Cluster) -> None:
    env = _env(runtime, cluster_a, K8SMCP_WARM="0")
    done = run_k8smcp("run", "kubectl", "get", "ns", "default", "-o", "name", env=env)
    assert done.returncode == 0, done.stderr
    time.sleep(1)
    assert not (runtime / "k8smcp").exists()


def test_a_confined_child_cannot_reach_the_warm_process(
    runtime: Path, cluster_a: Cluster, tmp_path: Path
) -> None:
    """A CLI confined by a server (or `run --confine`) may not hand a command to it."""
    from k8smcp import confine

    _warmed(runtime, _env(runtime, cluster_a))
    (pid_file,) = runtime.glob("k8smcp/*.pid")
    reach = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "try:\n"
        "    s.connect('\\0' + sys.argv[1])\n"
        "    print('reached')\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    argv = [sys.executable, "-c", reach, pid_file.stem]
    confined = confine.Confinement(writable=(str(tmp_path),), read_all=True)
    for limits, expected in ((None, "reached"), (confined, "refused")):
        if limits is None:  # the control: the same program, unconfined, gets through
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        else:
            proc = confine.spawn(limits, argv, stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=30)
        assert out.decode().split(" ")[0].strip() == expected, out


@pytest.mark.parametrize(
    "request_bytes",
    [b"", b"\x00\x00\x00\x05run", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x03a\x00b"],
    ids=["nothing", "short", "huge-length", "not-a-request"],
)
def test_a_broken_request_runs_nothing_and_the_warm_process_serves_on(
    runtime: Path, cluster_a: Cluster, request_bytes: bytes
) -> None:
    env = _env(runtime, cluster_a)
    pid = _warmed(runtime, env)
    (pid_file,) = runtime.glob("k8smcp/*.pid")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect("\0" + pid_file.stem)
        if request_bytes:
            socket.send_fds(sock, [request_bytes[:4]], [0, 1, 2])
            sock.sendall(request_bytes[4:])
        sock.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: sock.recv(64), b""))
    assert not answer.startswith(b"P"), answer  # no command began
    done = run_k8smcp("run", "kubectl", "get", "ns", "default", "-o", "name", env=env)
    assert (done.returncode, done.stdout) == (0, "namespace/default\n"), done.stderr
    assert _warm_pid(runtime) == pid
