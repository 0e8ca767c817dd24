"""`run` and `call` read without Typer (k8smcp.cli.fast) mean what Typer reads them to mean.

Each command line goes through Typer's app (the body replaced by a recorder) and through
``fast.parse``; whatever the fast path accepts must reach the body with the same tool,
arguments and options. What it leaves to Typer (help, usage errors, the unusual) it must
leave whole: ``parse`` answers None.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from k8smcp.cli import app, fast, work
from tests.conftest import k8smcp_env


def _typer(command: str, argv: list[str], env: dict[str, str], monkeypatch: Any) -> Any:
    seen: list[Any] = []

    def record(tool: Any, tool_args: list[str], **kwargs: Any) -> None:
        seen.append((tool, tool_args, kwargs))

    monkeypatch.setattr(work, command, record)
    result = CliRunner().invoke(app, [command, *argv], env=env)
    assert result.exit_code == 0, result.output
    return seen[0]


ACCEPTED = [
    ("run", ["kubectl", "get", "ns"], {}),
    ("run", ["--kubeconfig", "/k/config", "kubectl", "get", "ns"], {}),
    (
        "run",
        ["--kubeconfig=/k", "--json", "--context", "c", "kubectl", "get", "-n", "x", "--help"],
        {},
    ),
    (
        "run",
        ["--read-only", "--no-discovery-cache", "--timeout", "5", "--max-output-bytes=100", "helm"]
        + ["list", "--", "--json"],
        {},
    ),
    (
        "run",
        ["--deny-impersonation", "--allow-local-files", "--confine", "--redact-secrets"]
        + ["--kubectl-bin", "/bin/kubectl", "--deny-urls", "kubectl", "apply", "-f", "-"],
        {},
    ),
    (
        "run",
        ["--log-level", "debug", "--pass-env", "A,B", "--allowed-servers", "a.example"]
        + ["--cache-dir", "/tmp/c", "--max-concurrency", "3", "--queue-timeout", "1e1", "argocd"],
        {},
    ),
    ("run", ["--json", "--json", "--timeout", "5", "--timeout=7.5", "kubectl"], {}),
    ("run", ["--allow-impersonation", "--deny-impersonation", "kubectl"], {}),
    ("run", ["kubectl", "get", "ns"], {"K8SMCP_DISCOVERY_CACHE": "on"}),
    ("run", ["kubectl"], {"K8SMCP_READ_ONLY": " Yes ", "K8SMCP_CONFINE": "0"}),
    ("run", ["--no-confine", "kubectl"], {"K8SMCP_CONFINE": "t", "K8SMCP_REDACT_SECRETS": "n"}),
    ("run", ["kubectl"], {"K8SMCP_TIMEOUT": "3.5", "K8SMCP_MAX_CONCURRENCY": "4"}),
    ("run", ["--timeout", "9", "kubectl"], {"K8SMCP_TIMEOUT": "3.5"}),
    ("run", ["kubectl"], {"K8SMCP_KUBECTL_BIN": "/k", "K8SMCP_LOG_LEVEL": "info"}),
    ("run", ["kubectl"], {"K8SMCP_KUBECONFIG_B64": "abc", "K8SMCP_READ_ONLY": ""}),
    ("call", ["kubectl", "get", "ns"], {}),
    ("call", ["--url", "http://h:1/mcp", "kubectl", "get", "ns"], {}),
    ("call", ["--token", "t", "--timeout", "2", "--json", "--context", "x", "helm"], {}),
    ("call", ["kubectl", "version"], {"K8SMCP_URL": "http://e/mcp", "K8SMCP_TOKEN": "s"}),
    ("call", ["--kubeconfig-b64", "abc", "kubectl", "--json"], {"K8SMCP_KUBECONFIG_B64": "x"}),
]


@pytest.mark.parametrize(("command", "argv", "env"), ACCEPTED)
def test_what_the_fast_path_reads_is_what_typer_reads(
    command: str, argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = fast.parse(command, argv, env.get)
    assert parsed is not None, "a plain command line, read without Typer"
    assert parsed == _typer(command, argv, env, monkeypatch)


LEFT_TO_TYPER = [
    ("run", [], {}),  # no tool
    ("run", ["--help"], {}),
    ("run", ["--", "kubectl"], {}),
    ("run", ["--bogus", "kubectl"], {}),
    ("run", ["-", "kubectl"], {}),
    ("run", ["--timeout", "0", "kubectl"], {}),  # below the minimum
    ("run", ["--timeout", "soon", "kubectl"], {}),
    ("run", ["--max-concurrency", "1.5", "kubectl"], {}),
    ("run", ["--json=yes", "kubectl"], {}),
    ("run", ["--kubeconfig"], {}),
    ("run", ["--kubeconfig", "--json", "kubectl"], {}),
    ("run", ["--context", "", "kubectl"], {}),
    ("run", ["kubectl"], {"K8SMCP_READ_ONLY": "maybe"}),
    ("run", ["kubectl"], {"K8SMCP_TIMEOUT": "-1"}),
    ("call", ["--list"], {}),
    ("call", [], {}),
    ("call", ["--timeout", "0", "kubectl"], {}),
]


@pytest.mark.parametrize(("command", "argv", "env"), LEFT_TO_TYPER)
def test_help_errors_and_the_unusual_are_left_to_typer(
    command: str, argv: list[str], env: dict[str, str]
) -> None:
    assert fast.parse(command, argv, env.get) is None


def test_the_console_script_runs_a_plain_run_without_typer_unless_speedups_are_off() -> None:
    """And its first import of PyYAML is the one that defers the reader's pattern."""
    argv = ["run", "--json", "kubectl", "version", "--client", "-o", "json"]
    probe = (
        "import json, sys\n"
        "sys.argv = ['k8smcp', *sys.argv[1:]]\n"
        "from k8smcp.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    reader = sys.modules['yaml.reader'].Reader.NON_PRINTABLE\n"
        "    seen = {'typer': 'typer' in sys.modules, 'lazy': type(reader).__name__}\n"
        "    print(json.dumps(seen), file=sys.stderr)\n"
    )
    results = {}
    for off in (False, True):
        env = k8smcp_env()
        if off:
            env["K8SMCP_NO_SPEEDUPS"] = "1"
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stderr.strip().splitlines()[-1])
        # Typer loads only with the speed-ups off
        assert seen == {"typer": off, "lazy": "Pattern" if off else "LazyPattern"}
        results[off] = json.loads(done.stdout)
        del results[off]["duration_ms"]
    assert results[False] == results[True]
