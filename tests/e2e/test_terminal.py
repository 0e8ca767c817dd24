"""What a person at a terminal sees, and what a script sees: `doctor`, the spinner on
long waits (terminals only), and plain output when nothing is a terminal."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import K8SMCP, b64, k8smcp_env, make_kubeconfig, run_k8smcp


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run k8smcp with stdout and stderr on a pseudo-terminal; return (exit code, screen)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [K8SMCP, *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**env, "TERM": "xterm", "COLUMNS": "100"},
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=10), b"".join(chunks).decode(errors="replace")


def test_spinner_shows_on_a_terminal_after_a_second(fake_cli: Path) -> None:
    env = k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli))
    code, screen = run_in_terminal(["run", "kubectl", "get", "sleep", "2.5"], env)
    assert code == 0
    assert "kubectl get sleep 2.5" in screen  # the spinner's message
    assert any(frame in screen for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def test_no_spinner_for_short_calls_or_scripts(fake_cli: Path) -> None:
    env = k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli))
    code, screen = run_in_terminal(["run", "kubectl", "get", "exit", "0"], env)
    assert code == 0 and "⠋" not in screen
    done = run_k8smcp("run", "kubectl", "get", "sleep", "1.5", env=env)
    assert done.returncode == 0
    assert "\x1b[" not in done.stderr + done.stdout  # no escape codes for pipes


def test_errors_are_red_on_a_terminal_and_plain_in_pipes() -> None:
    code, screen = run_in_terminal(
        ["run", "--kubeconfig-b64", "%%", "kubectl", "get", "ns"], k8smcp_env()
    )
    assert code == 3 and "\x1b[" in screen and "KubeconfigError" in screen
    done = run_k8smcp("run", "--kubeconfig-b64", "%%", "kubectl", "get", "ns")
    assert done.stderr.startswith("KubeconfigError: kubeconfig is not valid base64")


def test_doctor_reports_tools_kubeconfig_and_server(start_server: Any, tmp_path: Path) -> None:
    server = start_server()
    config = make_kubeconfig("https://127.0.0.1:6443")
    env = k8smcp_env(K8SMCP_KUBECONFIG_B64=b64(config), K8SMCP_HELM_BIN="/nope/helm")
    done = run_k8smcp("doctor", "--json", "--url", server.mcp_url, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["kubectl"]["status"] == "ok" and "v1.37" in checks["kubectl"]["detail"]
    assert checks["helm"]["status"] == "warn"
    assert (
        checks["kubeconfig"]["status"] == "ok"
        and "https://127.0.0.1:6443" in checks["kubeconfig"]["detail"]
    )
    assert checks["server policy"]["status"] == "ok"
    assert checks["server"]["status"] == "ok" and "k8smcp 0.1.0" in checks["server"]["detail"]
    path = k8smcp_env()["PATH"]  # the server lists the tools whose binaries it finds
    installed = [t for t in ("kubectl", "helm", "istioctl", "argocd") if shutil.which(t, path=path)]
    assert checks["server tools"]["detail"] == ", ".join(installed)


def test_doctor_fails_on_an_unreachable_server_and_warns_on_exec_kubeconfigs(
    closed_port: int,
) -> None:
    config = make_kubeconfig()
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "aws",
            "args": ["eks", "get-token"],
        }
    }
    env = k8smcp_env(K8SMCP_KUBECONFIG_B64=b64(config))
    done = run_k8smcp("doctor", "--json", "--url", f"http://127.0.0.1:{closed_port}/mcp", env=env)
    assert done.returncode == 1
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["server"]["status"] == "fail" and "ConnectError" in checks["server"]["detail"]
    assert checks["server policy"]["status"] == "warn"
    assert "kubeconfig-exec" in checks["server policy"]["detail"]
