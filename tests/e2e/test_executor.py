"""Executor mechanics, through `k8smcp run`: the process group dies on timeout, output is
capped while it is read, the child sees an allowlisted environment and a private home,
stdin reaches it, and nothing of a call is left behind on any way out.

The CLI here is a stand-in (tests/conftest.py FAKE_CLI): a real kubectl cannot hang with a
grandchild or print 5 MB on demand.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import anyio
import pytest

from k8smcp.executor import SPARE_WORKDIRS, Executor, Invocation
from tests.conftest import b64, k8smcp_env, make_kubeconfig, pid_alive, run_k8smcp


@pytest.fixture
def env(fake_cli: Path, private_tmp: Path, tmp_path: Path) -> dict[str, str]:
    return k8smcp_env(
        private_tmp,
        K8SMCP_KUBECTL_BIN=str(fake_cli),
        K8SMCP_PASS_ENV="FAKE_PIDS",
        FAKE_PIDS=str(tmp_path / "pids"),
        AWS_SECRET_ACCESS_KEY="aws-secret-from-the-server",
        KUBERNETES_SERVICE_HOST="10.0.0.1",
    )


def test_timeout_kills_the_whole_process_group(
    env: dict[str, str], tmp_path: Path, private_tmp: Path
) -> None:
    started = time.monotonic()
    done = run_k8smcp("run", "--timeout", "1.5", "kubectl", "hang", env=env)
    assert time.monotonic() - started < 10
    assert done.returncode == 124
    assert "killed after the 1.5s timeout" in done.stderr
    parent, grandchild = map(int, (tmp_path / "pids").read_text().split())
    deadline = time.monotonic() + 5
    while (pid_alive(parent) or pid_alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(parent) and not pid_alive(grandchild)
    assert list(private_tmp.iterdir()) == []


def test_output_is_capped_while_reading(env: dict[str, str]) -> None:
    done = run_k8smcp(
        "run",
        "--json",
        "--max-output-bytes",
        "1000",
        "kubectl",
        "flood",
        str(5 * 1024 * 1024),
        env=env,
    )
    result = json.loads(done.stdout)
    assert result["truncated"] is True and result["exit_code"] == 0
    for stream in ("stdout", "stderr"):
        text = result[stream]
        assert text.startswith("x" * 1000)
        assert (
            f"{stream} truncated at 1000 bytes; {5 * 1024 * 1024 - 1000} more bytes dropped" in text
        )
        assert len(text) < 1200


def test_child_gets_an_allowlisted_environment_and_a_private_home(
    env: dict[str, str], private_tmp: Path
) -> None:
    config = make_kubeconfig("https://10.4.4.4:6443")
    done = run_k8smcp("run", "--kubeconfig-b64", b64(config), "kubectl", "env", env=env)
    info = json.loads(done.stdout)
    child_env = info["env"]
    assert "AWS_SECRET_ACCESS_KEY" not in child_env
    assert "KUBERNETES_SERVICE_HOST" not in child_env
    assert set(child_env) <= {
        "PATH",
        "LANG",
        "HOME",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "KUBECONFIG",
        "KUBECACHEDIR",
        "FAKE_PIDS",
        "LC_CTYPE",
        "GOGC",
    }
    assert child_env["GOGC"] == "200"  # k8smcp's default for its Go children
    # the shared discovery cache of this cluster, outside the private directory
    assert "k8smcp/discovery/" in child_env["KUBECACHEDIR"]
    workdir = Path(child_env["KUBECONFIG"]).parent
    assert workdir.parent == private_tmp
    assert Path(child_env["HOME"]).parent == workdir and info["cwd"] == str(workdir)
    assert info["home_mode"] == "0o700" and info["kubeconfig_mode"] == "0o600"
    assert (
        json.loads(info["kubeconfig"])["clusters"][0]["cluster"]["server"]
        == "https://10.4.4.4:6443"
    )
    assert list(private_tmp.iterdir()) == []


def test_run_makes_nothing_ahead_for_a_next_call(env: dict[str, str], private_tmp: Path) -> None:
    # one call, then exit: while the child runs, k8smcp has no thread beside its main one
    # (no file thread, no worker thread) and no spare directory beside the call's own
    done = run_k8smcp("run", "kubectl", "env", env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["parent_threads"] == 1
    assert info["call_dirs"] == [Path(info["cwd"]).name]
    assert list(private_tmp.iterdir()) == []


def test_helm_and_argocd_config_dirs_point_inside_the_private_home(
    fake_cli: Path, private_tmp: Path
) -> None:
    env = k8smcp_env(private_tmp, K8SMCP_HELM_BIN=str(fake_cli), K8SMCP_ARGOCD_BIN=str(fake_cli))
    helm = json.loads(run_k8smcp("run", "helm", "env", env=env).stdout)["env"]
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        assert helm[name].startswith(helm["HOME"] + "/")
    argocd = json.loads(run_k8smcp("run", "argocd", "env", env=env).stdout)["env"]
    assert argocd["ARGOCD_CONFIG_DIR"].startswith(argocd["HOME"] + "/")


def test_stdin_reaches_the_child_when_an_argument_is_dash(env: dict[str, str]) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    done = run_k8smcp("run", "kubectl", "env", "apply", "-f", "-", env=env, input=manifest)
    assert json.loads(done.stdout)["stdin"] == manifest


def test_exit_code_and_stderr_pass_through(env: dict[str, str], private_tmp: Path) -> None:
    done = run_k8smcp("run", "kubectl", "exit", "42", env=env)
    assert done.returncode == 42
    assert done.stderr == "failing on purpose\n"
    assert list(private_tmp.iterdir()) == []


def test_an_operators_gogc_reaches_children_only_when_passed(fake_cli: Path) -> None:
    env = k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli), GOGC="50")
    child = json.loads(run_k8smcp("run", "kubectl", "env", env=env).stdout)["env"]
    assert child["GOGC"] == "200"
    env["K8SMCP_PASS_ENV"] = "GOGC"
    child = json.loads(run_k8smcp("run", "kubectl", "env", env=env).stdout)["env"]
    assert child["GOGC"] == "50"


def test_pass_env_adds_variables_for_local_users(fake_cli: Path) -> None:
    env = k8smcp_env(
        K8SMCP_KUBECTL_BIN=str(fake_cli), K8SMCP_PASS_ENV="AWS_PROFILE", AWS_PROFILE="dev"
    )
    assert (
        json.loads(run_k8smcp("run", "kubectl", "env", env=env).stdout)["env"]["AWS_PROFILE"]
        == "dev"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("spares", [0, SPARE_WORKDIRS])
async def test_a_call_cancelled_by_an_anyio_scope_kills_reaps_and_removes(
    spares: int, private_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server's cancelled MCP call: anyio's scope cancels the executor's task (plain
    # asyncio) again on every loop iteration until it leaves; the child is still killed
    # and reaped, its directory removed, and the cancellation reaches the scope.
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    executor = Executor(max_output_bytes=1 << 20, max_concurrency=2, spares=spares)
    pidfile = tmp_path / "pid"
    script = f"echo $$ > {pidfile}; exec sleep 30"
    started = time.monotonic()
    with anyio.move_on_after(1) as scope:
        await executor.execute(
            Invocation(argv=["/bin/sh", "-c", script], env={"PATH": os.defpath}, timeout=60)
        )
    assert scope.cancelled_caught and time.monotonic() - started < 10
    pid = int(pidfile.read_text())
    assert not pid_alive(pid)
    with pytest.raises(ChildProcessError):  # reaped: no zombie left for the server
        os.waitpid(pid, os.WNOHANG)
    await executor.aclose()
    assert list(private_tmp.iterdir()) == []
    # the executor still works after a cancel (its slot was given back)
    done = await executor.execute(Invocation(argv=["/bin/echo", "ok"], env={}, timeout=10))
    assert done.stdout == "ok\n" and done.exit_code == 0


def test_a_call_cancelled_by_asyncio_kills_reaps_and_removes(
    private_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # k8smcp run's loop (asyncio.run) on Ctrl-C: one plain task.cancel()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    executor = Executor(max_output_bytes=1 << 20, max_concurrency=1, spares=0)
    pidfile = tmp_path / "pid"
    script = f"echo $$ > {pidfile}; exec sleep 30"

    async def cancelled() -> None:
        call = asyncio.ensure_future(
            executor.execute(
                Invocation(argv=["/bin/sh", "-c", script], env={"PATH": os.defpath}, timeout=60)
            )
        )
        while not pidfile.exists() or not pidfile.read_text():
            await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled())
    pid = int(pidfile.read_text())
    assert not pid_alive(pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert list(private_tmp.iterdir()) == []
