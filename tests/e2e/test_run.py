"""`k8smcp run` as a user and a script run it: a subprocess, real kubectl, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import K8SMCP, SECRET_TOKEN, b64, k8smcp_env, make_kubeconfig, run_k8smcp


def test_version_client_exits_zero_and_prints_kubectls_output() -> None:
    done = run_k8smcp("run", "kubectl", "version", "--client")
    assert done.returncode == 0, done.stderr
    assert "Client Version: v1.37" in done.stdout


def test_json_prints_the_whole_result() -> None:
    done = run_k8smcp("run", "--json", "kubectl", "version", "--client", "-o", "json")
    result = json.loads(done.stdout)
    assert result["ok"] is True and result["exit_code"] == 0
    assert json.loads(result["stdout"])["clientVersion"]["major"] == "1"
    assert result["argv"] == ["kubectl", "version", "--client", "-o", "json"]
    assert set(result) >= {"stderr", "truncated", "timed_out", "duration_ms"}


def test_kubeconfig_b64_flag_is_the_kubeconfig_kubectl_sees() -> None:
    config = b64(make_kubeconfig("https://10.1.2.3:6443", context="ctx-a"))
    done = run_k8smcp(
        "run",
        "--kubeconfig-b64",
        config,
        "kubectl",
        "config",
        "view",
        "-o",
        "jsonpath={.clusters[0].cluster.server} {.current-context}",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "https://10.1.2.3:6443 ctx-a"


def test_env_then_path_then_kubeconfig_variable(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(json.dumps(make_kubeconfig("https://from-file:1")))
    env_var = tmp_path / "env-config"
    env_var.write_text(json.dumps(make_kubeconfig("https://from-kubeconfig-var:1")))
    jsonpath = ["-o", "jsonpath={.clusters[0].cluster.server}"]
    env = k8smcp_env(
        K8SMCP_KUBECONFIG_B64=b64(make_kubeconfig("https://from-env:1")), KUBECONFIG=str(env_var)
    )
    args = ["run", "--kubeconfig", str(path), "kubectl", "config", "view", *jsonpath]
    assert run_k8smcp(*args, env=env).stdout == "https://from-env:1"
    env.pop("K8SMCP_KUBECONFIG_B64")
    assert run_k8smcp(*args, env=env).stdout == "https://from-file:1"
    args = ["run", "kubectl", "config", "view", *jsonpath]
    assert run_k8smcp(*args, env=env).stdout == "https://from-kubeconfig-var:1"


def test_context_flag_selects_another_context() -> None:
    config = b64(make_kubeconfig(extra_contexts={"other": "https://10.9.9.9:443"}))
    done = run_k8smcp(
        "run",
        "--kubeconfig-b64",
        config,
        "--context",
        "other",
        "kubectl",
        "config",
        "current-context",
    )
    assert done.stdout.strip() == "other"


def test_get_contexts_shows_the_sent_kubeconfig() -> None:
    config = b64(make_kubeconfig(context="tenant-a", namespace="team"))
    done = run_k8smcp("run", "--kubeconfig-b64", config, "kubectl", "config", "get-contexts")
    assert done.returncode == 0
    assert "tenant-a" in done.stdout and "team" in done.stdout


def test_unreachable_cluster_gives_kubectls_error_and_exit_code(closed_port: int) -> None:
    config = b64(make_kubeconfig(f"https://127.0.0.1:{closed_port}"))
    done = run_k8smcp("run", "--kubeconfig-b64", config, "kubectl", "get", "ns")
    assert done.returncode == 1
    assert "connection refused" in done.stderr
    assert SECRET_TOKEN not in done.stderr + done.stdout


def test_quoting_keeps_jsonpath_whole() -> None:
    config = b64(make_kubeconfig(extra_contexts={"b": "https://b", "c": "https://c"}))
    done = run_k8smcp(
        "run",
        "--kubeconfig-b64",
        config,
        "kubectl",
        "config",
        "view",
        "-o",
        "jsonpath={range .contexts[*]}{.name}{' '}{end}",
    )
    assert sorted(done.stdout.split()) == ["b", "c", "test"]


def test_tool_options_after_the_tool_name_belong_to_the_tool() -> None:
    # --json after "kubectl" is kubectl's (unknown) flag, not k8smcp's
    done = run_k8smcp("run", "kubectl", "version", "--client", "--json")
    assert done.returncode == 1
    assert "unknown flag: --json" in done.stderr


def test_bad_kubeconfig_exits_3_with_a_message_and_no_traceback() -> None:
    done = run_k8smcp("run", "--kubeconfig-b64", "%%%", "kubectl", "get", "ns")
    assert done.returncode == 3
    assert "KubeconfigError: kubeconfig is not valid base64" in done.stderr
    assert "Traceback" not in done.stderr


def test_error_json_has_the_error_body() -> None:
    done = run_k8smcp("run", "--json", "--kubeconfig-b64", "%%%", "kubectl", "get", "ns")
    assert done.returncode == 3
    assert json.loads(done.stdout)["error"] == "invalid_kubeconfig"


def test_missing_binary_exits_127_naming_the_tool_and_how_to_install() -> None:
    env = k8smcp_env(K8SMCP_HELM_BIN="/nonexistent/helm")
    done = run_k8smcp("run", "helm", "list", env=env)
    assert done.returncode == 127
    assert "helm is not installed" in done.stderr and "Install helm" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_tool_exits_2() -> None:
    done = run_k8smcp("run", "bash", "-c", "id")
    assert done.returncode == 2
    assert "unknown tool 'bash'" in done.stderr


def test_help_and_version_do_not_import_mcp_or_fastapi() -> None:
    for args in (["--help"], ["--version"], ["run", "--help"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "k8smcp", *args],
            capture_output=True,
            text=True,
            env=k8smcp_env(),
            check=True,
        )
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
        assert not {m for m in imported if m.split(".")[0] in ("mcp", "fastapi", "uvicorn")}


def test_help_renders_its_panels_without_rich_markdown_or_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "k8smcp", "--help"],
        capture_output=True,
        text=True,
        env=k8smcp_env(COLUMNS="100"),
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "typer.rich_utils" in imported
    assert not imported & {"rich.markdown", "rich.traceback", "markdown_it"}
    assert "─ Commands ─" in done.stdout and "serve" in done.stdout


def test_the_help_renderers_stand_ins_load_the_real_classes_when_used() -> None:
    script = """
import sys
from k8smcp.speedups import import_help_renderer
import_help_renderer()
assert "rich.markdown" not in sys.modules and "rich.traceback" not in sys.modules
from typer import rich_utils
from rich.markdown import Markdown
assert isinstance(rich_utils.Markdown("# x"), Markdown)
try:
    1 / 0
except ZeroDivisionError as exc:
    from rich.traceback import Traceback
    assert isinstance(rich_utils.Traceback.from_exception(type(exc), exc, None), Traceback)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=k8smcp_env()
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_version_matches_the_package() -> None:
    from k8smcp import __version__

    done = subprocess.run([K8SMCP, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"k8smcp {__version__}"


def test_tools_json_lists_the_catalog_with_kubectl_found() -> None:
    done = run_k8smcp("tools", "--json", env=k8smcp_env(K8SMCP_ARGOCD_BIN="/nope/argocd"))
    assert done.returncode == 0
    tools = {t["tool"]: t for t in json.loads(done.stdout)}
    assert list(tools) == ["kubectl", "helm", "istioctl", "argocd"]
    assert tools["kubectl"]["available"] and tools["kubectl"]["version"].startswith("v1.37")
    assert (
        not tools["argocd"]["available"] and "argocd is not installed" in tools["argocd"]["detail"]
    )


def test_tools_table_for_people() -> None:
    done = run_k8smcp("tools", env=k8smcp_env(K8SMCP_ARGOCD_BIN="/nope/argocd"))
    assert "kubectl" in done.stdout and "found" in done.stdout and "missing" in done.stdout
