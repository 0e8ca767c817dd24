"""The tool catalog is the extension point: every special case of a CLI is a hook on its
ToolSpec, the policy and the redaction call hooks and never compare tool names, and a
plugin registered by one entry point is a tool like the others.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import k8smcp
import k8smcp.tools
from k8smcp.errors import PolicyDeniedError
from k8smcp.policy import (
    Context,
    Lookups,
    Policy,
    check_command,
    check_kubeconfig,
    parse_command,
    secret_output_allowed,
)
from k8smcp.policy.tools import argocd, helm, istioctl, kubectl
from k8smcp.secrets import WITHHELD, redact_output
from k8smcp.tools import BUILTIN, TOOLS, bin_options, catalog, get_tool, tool_names
from tests.conftest import make_kubeconfig
from tests.fifth_tool import SECRET_VALUE, write_fifth_tool

PACKAGE = Path(k8smcp.__file__).parent
SERVER = Policy.server(resolver=lambda host: ["203.0.113.7"])


def _ctx(tool: str, command: str, policy: Policy = SERVER, stdin: str | None = None) -> Context:
    return Context(policy, parse_command(get_tool(tool), command.split(), stdin))


def _rule(hook, ctx: Context) -> str | None:
    try:
        hook(ctx)
    except PolicyDeniedError as exc:
        return str(exc.extra["rule"])
    return None


# --- each hook, alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "tool", "command", "rule"),
    [
        (kubectl.raw_config, "kubectl", "config view --raw", "raw-config"),
        (kubectl.raw_config, "kubectl", "config view --flatten=true", "raw-config"),
        (kubectl.raw_config, "kubectl", "config view --raw=false", None),
        (kubectl.raw_config, "kubectl", "config view", None),
        (helm.registry_login, "helm", "registry login r.example.com", "registry-login"),
        (helm.registry_login, "helm", "registry logout r.example.com", None),
        (helm.dependency_update, "helm", "install web c --dependency-update", "url"),
        (helm.dependency_update, "helm", "install web c -u", "url"),
        (helm.dependency_update, "helm", "install web c", None),
        (helm.chart_arguments, "helm", "install web ./chart", "file-path"),
        (helm.chart_arguments, "helm", "template web -- /etc", "file-path"),
        (helm.chart_arguments, "helm", "install web repo/chart", None),
        (helm.chart_arguments, "helm", "pull oci://169.254.169.254/c", "address"),
        (helm.chart_arguments, "helm", "repo add r ftp://x", "url"),
        (helm.chart_arguments, "helm", "push c.tgz https://x", "url"),
        (istioctl.analyze_files, "istioctl", "analyze /etc/passwd", "file-path"),
        (istioctl.analyze_files, "istioctl", "analyze -", None),
        (argocd.core_mode, "argocd", "app list", "argocd-core"),
        (argocd.core_mode, "argocd", "app list --core", None),
        (argocd.core_mode, "argocd", "version", None),
        (argocd.appset_files, "argocd", "appset create /etc/x.yaml --core", "file-path"),
        (
            argocd.appset_files,
            "argocd",
            "appset create https://169.254.169.254/a --core",
            "address",
        ),
    ],
)
def test_each_hook_decides_its_case(hook, tool, command, rule):
    ctx = _ctx(tool, command)
    got = _address_rule(hook, ctx) if rule == "address" else _rule(hook, ctx)
    assert got == rule


def _address_rule(hook, ctx: Context) -> str | None:
    """Literal addresses are checked at once; names would wait in ctx.lookups."""
    rule = _rule(hook, ctx)
    assert not ctx.lookups.names
    return rule


def test_hooks_defer_names_to_lookups_instead_of_resolving():
    asked: list[str] = []
    policy = Policy.server(resolver=lambda host: asked.append(host) or ["169.254.169.254"])
    ctx = _ctx("helm", "pull oci://charts.example.test/c", policy)
    helm.chart_arguments(ctx)  # nothing resolved yet, nothing refused yet
    assert ctx.lookups.names == ("charts.example.test",) and asked == []
    with pytest.raises(PolicyDeniedError, match="link-local"):
        ctx.lookups.finish({"charts.example.test": ["169.254.1.1"]})
    with pytest.raises(PolicyDeniedError, match="does not resolve"):
        lookups = Lookups()
        check_command(policy, "helm", ["pull", "oci://x.example.test/c"], lookups=lookups)
        lookups.finish({})


@pytest.mark.parametrize(
    ("tool", "command", "stdin", "refused"),
    [
        ("kubectl", "get secret db -o jsonpath={.data}", None, True),
        ("kubectl", "get -o jsonpath={.data} -- secret db", None, True),
        ("kubectl", "get -o jsonpath={.data} -- pods", None, False),
        ("kubectl", "get -f - -o jsonpath={.data}", "kind: Secret\nmetadata: {name: db}\n", True),
        (
            "kubectl",
            "get -f - -o jsonpath={.data}",
            '{"kind":"List","items":[{"kind":"Secret"}]}',
            True,
        ),
        (
            "kubectl",
            "get -f - -o jsonpath={.data}",
            "kind: ConfigMap\nmetadata: {name: c}\n",
            False,
        ),
        ("kubectl", "get -f - -o jsonpath={.data}", "kind: [", True),
        ("kubectl", "get secret db -o yaml", None, False),
        ("helm", "get all web", None, True),
        ("helm", "status web --debug -o json", None, False),
        ("istioctl", "proxy-config secret web", None, False),
    ],
)
def test_secret_output_hooks(tool, command, stdin, refused):
    assert secret_output_allowed(tool, command.split(), stdin) is not refused


@pytest.mark.parametrize(
    ("tool", "command", "expected"),
    [
        ("kubectl", "get secret db -o json", True),
        ("kubectl", "get -f - -o yaml", True),
        ("kubectl", "get pods -o json", False),
        ("helm", "template web c", True),
        ("helm", "status web -o yaml", True),
        ("helm", "status web", False),
        ("argocd", "app manifests web --core", True),
        ("istioctl", "analyze", False),
    ],
)
def test_expects_secrets_hooks_decide_what_unparseable_output_is_withheld(tool, command, expected):
    spec = get_tool(tool)
    parsed = parse_command(spec, command.split())
    assert spec.expects_secrets(parsed) is expected
    assert (redact_output(parsed, "a: [\n") == WITHHELD) is expected


# --- the policy and redaction never name a tool --------------------------------------


TOOL_NAMES = set(BUILTIN)
NAME_FREE = [
    PACKAGE / "secrets.py",
    PACKAGE / "redact.py",
    PACKAGE / "service.py",
    *(p for p in (PACKAGE / "policy").glob("*.py")),
]


@pytest.mark.parametrize("path", NAME_FREE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_policy_and_secrets_code_names_no_tool(path: Path):
    """Docstrings may show an example; code may not branch on a tool's name."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    named = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in TOOL_NAMES
        and id(node) not in docstrings
    ]
    assert named == []


def test_policy_tools_is_no_second_registry():
    import k8smcp.policy.tools as tables

    assert not hasattr(tables, "GRAMMARS") and not hasattr(tables, "TOOL_RULES")
    for spec in TOOLS.values():
        assert spec.grammar.tool == spec.name
        assert spec.example and spec.example.split()[0] in spec.grammar.commands


@pytest.mark.parametrize("tool", BUILTIN)
def test_every_example_passes_the_server_policy_and_is_read_only(tool):
    spec = get_tool(tool)
    check_command(SERVER, spec, spec.example.split())
    from k8smcp.policy import is_read_only

    assert is_read_only(spec, spec.example.split())


def test_bin_options_come_from_the_catalog():
    options = {o.flag: o for o in bin_options()}
    assert list(options) == [f"--{name}-bin" for name in tool_names()]
    assert options["--kubectl-bin"].envvar == "K8SMCP_KUBECTL_BIN" == TOOLS["kubectl"].bin_env
    assert options["--helm-bin"].param == "helm_bin"


# --- imports: no cycle, nothing heavy for the option table --------------------------


@pytest.mark.parametrize(
    "first",
    [
        "k8smcp.tools",
        "k8smcp.tools.kubectl",
        "k8smcp.policy",
        "k8smcp.secrets",
        "k8smcp.tools.spec",
    ],
)
def test_any_module_imports_first(first: str):
    code = f"import {first}, k8smcp.tools as t; assert list(t.TOOLS) == {list(BUILTIN)!r}"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_option_table_loads_no_spec_and_no_policy():
    code = (
        "import sys, k8smcp.tools as t; t.bin_options(); "
        "assert 'k8smcp.policy' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- a plugin through the registry line -----------------------------------------------


@pytest.fixture
def fifth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    tool = write_fifth_tool(tmp_path)
    monkeypatch.syspath_prepend(str(tool.site))
    monkeypatch.setattr(k8smcp.tools, "_catalog", None)
    yield get_tool("fifth")
    k8smcp.tools._catalog = None


def test_a_plugin_is_a_tool_like_the_others(fifth):
    assert list(catalog()) == [*BUILTIN, "fifth"]
    assert "--fifth-bin" in {o.flag for o in bin_options()}
    check_command(SERVER, "fifth", ["get", "things", "-o", "json"])
    check_command(SERVER, "fifth", ["version"])
    refusals = {
        "get everything": "verb-denied",  # its server hook
        "--token x get things": "flag-target",  # its tables
        "get things --v=4": "verbosity",
        "get secret -o text": "secret-output",  # its secret hook
        "delete things": "verb-unknown",
        "get things | sh": "shell",
    }
    for command, rule in refusals.items():
        with pytest.raises(PolicyDeniedError) as denied:
            check_command(SERVER, "fifth", command.split())
        assert denied.value.extra["rule"] == rule, command
    check_command(Policy.local(), "fifth", ["get", "everything"])  # a server-level hook
    check_command(Policy.server(read_only=True), "fifth", ["g", "things"])  # alias, read-only
    secret = json.dumps({"kind": "Secret", "data": {"password": SECRET_VALUE}})
    command = parse_command(fifth, ["get", "secret"])
    assert SECRET_VALUE not in redact_output(command, secret)
    assert redact_output(command, "{cut") == WITHHELD


def test_a_kubeconfig_check_needs_no_tool(fifth):
    check_kubeconfig(SERVER, make_kubeconfig("https://10.1.2.3:6443"))
