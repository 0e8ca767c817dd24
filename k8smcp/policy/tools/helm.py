"""helm v4.3: commands and flags (from its source), server refusals, hooks.

The hooks of its special cases (registry login, dependency updates, chart references,
manifests printed as text).
"""

from __future__ import annotations

import re

from k8smcp.policy.address import HTTP_SCHEMES, looks_like_url
from k8smcp.policy.base import shown
from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words
from k8smcp.policy.hooks import Command, Context, Refusal
from k8smcp.policy.parse import Parsed, is_false

GRAMMAR = Grammar(
    tool="helm",
    commands=tree(
        """
        completion(bash zsh fish powershell) create dependency(build list update) docs env
        get(all hooks manifest metadata notes values) history install lint list package
        plugin(install list package uninstall update verify) pull push
        registry(login logout) repo(add index list remove update) rollback search(hub repo)
        show(all chart crds readme values) status template test uninstall upgrade verify
        version help
        """
    ),
    aliases={
        (): {
            "dep": "dependency",
            "dependencies": "dependency",
            "hist": "history",
            "ls": "list",
            "fetch": "pull",
            "inspect": "show",
            "del": "uninstall",
            "delete": "uninstall",
            "un": "uninstall",
        },
        ("dependency",): {"ls": "list", "up": "update"},
        ("plugin",): {"add": "install", "ls": "list", "rm": "uninstall", "remove": "uninstall"},
        ("repo",): {"ls": "list", "rm": "remove", "up": "update"},
    },
    global_bool=words(
        "kube-insecure-skip-tls-verify debug help logtostderr alsologtostderr add-dir-header "
        "skip-headers skip-log-headers one-output legacy-stderr-threshold-behavior"
    ),
    global_value=words(
        "namespace kubeconfig kube-context kube-token kube-as-user kube-as-group kube-apiserver "
        "kube-ca-file kube-tls-server-name registry-config repository-config repository-cache "
        "content-cache burst-limit qps color colour log-dir log-file log-file-max-size "
        "stderrthreshold alsologtostderrthreshold v vmodule log-backtrace-at"
    ),
    local_bool=words(
        """
        all all-namespaces allow-deprecated-repos atomic cleanup-on-fail create-namespace
        date dependency-update deployed devel disable-openapi-validation dry-run enable-dns
        fail-on-no-result failed force force-conflicts force-replace force-update
        generate-headers generate-name hide-notes hide-secret ignore-not-found include-crds
        insecure insecure-skip-tls-verify install is-upgrade json keep-history
        list-repo-url logs no-headers no-hooks pass-credentials password-stdin pending
        plain-http prov quiet regexp release-name render-subchart-notes replace
        reset-then-reuse-values reset-values reuse-values reverse rollback-on-failure
        server-side short show-rollback-revision sign skip-crds skip-refresh
        skip-schema-validation skip-tests strict superseded take-ownership uninstalled
        uninstalling untar validate verify versions wait wait-for-jobs with-subcharts
        """
    ),
    local_value=words(
        """
        api-versions app-version ca-file cascade cert-file chart-api-version description
        destination dir endpoint filter history-max jsonpath key key-file keyring kube-version
        labels max max-col-width merge name-template offset output output-dir passphrase-file
        password post-renderer post-renderer-args repo revision selector set set-file
        set-json set-literal set-string show-only starter template time-format timeout type
        untardir url username values version
        """
    ),
    global_shorts={"n": "namespace", "h": "help", "v": "v"},
    local_shorts={
        "A": "all-namespaces",
        "a": "all",
        "f": "values",
        "g": "generate-name",
        "i": "install",
        "l": "labels",
        "o": "output",
        "q": "short",
        "r": "reverse",
        "s": "show-only",
        "d": "destination",
        "u": "dependency-update",
        "m": "max",
        "p": "password",
    },
    verb_shorts={
        ("template",): {"a": "api-versions"},
        ("list",): {"d": "date", "f": "filter", "l": "selector", "r": "reverse", "q": "short"},
        ("search",): {"l": "versions", "r": "regexp"},
        ("registry",): {"u": "username", "p": "password"},
        ("create",): {"p": "starter"},
    },
    strict_groups=frozenset(
        {
            ("completion",),
            ("dependency",),
            ("get",),
            ("plugin",),
            ("registry",),
            ("repo",),
            ("search",),
            ("show",),
        }
    ),
)

_SERVER_FILES = (
    "file-path",
    "it works on files on the server, which k8smcp does not expose: send manifests "
    "through stdin with `-f -`",
)

RULES = ToolRules(
    target=frozenset(
        "kubeconfig kube-apiserver kube-token kube-ca-file kube-tls-server-name "
        "kube-insecure-skip-tls-verify".split()
    ),
    impersonation=frozenset({"kube-as-user", "kube-as-group"}),
    binary=frozenset({"post-renderer", "post-renderer-args"}),
    stdin_files=frozenset({"values"}),
    url_files=frozenset({"values"}),
    files=frozenset(
        "set-file ca-file cert-file key-file keyring passphrase-file output-dir untardir "
        "destination dir registry-config repository-config repository-cache content-cache "
        "log-dir log-file starter".split()
    ),
    url_flags=frozenset({"repo", "endpoint"}),
    interactive=frozenset(),
    log_levels={"v": 6, "vmodule": 6},  # client-go's: 8 and up log response bodies
    denied={
        ("plugin",): ("verb-denied", "helm plugins are programs on the server"),
        ("docs",): ("verb-denied", "it writes files on the server"),
        ("create",): _SERVER_FILES,
        ("package",): _SERVER_FILES,
        ("lint",): (
            "file-path",
            "it reads a chart directory on the server: use `template` with a chart "
            "reference and `--repo URL`",
        ),
        ("verify",): _SERVER_FILES,
        ("dependency",): _SERVER_FILES,
        ("push",): _SERVER_FILES,
        ("repo", "index"): _SERVER_FILES,
    },
    read_only=paths(
        "list",
        "status",
        "get",
        "history",
        "show",
        "template",
        "lint",
        "version",
        "search",
        "env",
        "repo list",
        "completion",
        "help",
    ),
)


# --- hooks ---------------------------------------------------------------------------

_CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_OCI = (*HTTP_SCHEMES, "oci")
_CHART_VERBS = paths("install", "upgrade", "template", "pull", "show")
_STRUCTURED = frozenset({"json", "yaml"})


def registry_login(ctx: Context) -> None:
    """``registry login`` stores credentials on the server."""
    if ctx.parsed.path == ("registry", "login") and not ctx.policy.allow_registry_login:
        raise ctx.deny(
            "registry-login",
            "helm registry login",
            "is refused on this server",
            "pass --username/--password to the command that pulls the chart "
            "(the operator can set K8SMCP_ALLOW_REGISTRY_LOGIN)",
        )


def dependency_update(ctx: Context) -> None:
    """``--dependency-update`` fetches repositories named inside the chart."""
    if ctx.parsed.has("dependency-update"):
        raise ctx.deny(
            "url",
            "--dependency-update",
            "fetches the repositories a chart names for its dependencies, which the "
            "address policy cannot check",
            "use a chart that ships its dependencies in charts/",
        )


def chart_arguments(ctx: Context) -> None:
    """Chart references (not local paths), repository URLs and push destinations."""
    command = ctx.command
    path = command.parsed.path
    args = [*command.parsed.positionals, *command.parsed.rest]  # `--` ends no positionals
    if path[:1] in _CHART_VERBS:
        for arg in args:
            _check_chart(ctx, command.describe(), arg)
    elif path == ("repo", "add") and len(args) >= 2:
        ctx.url("helm repo add URL", args[1], HTTP_SCHEMES)
    elif path == ("push",) and len(args) >= 2:
        ctx.url("helm push REMOTE", args[1], ("oci",))


def _check_chart(ctx: Context, where: str, arg: str) -> None:
    if looks_like_url(arg):
        ctx.url(f"{where} CHART", arg, _OCI)
    elif not _CHART_NAME.match(arg) and not ctx.policy.allow_local_files:
        raise ctx.deny(
            "file-path",
            f"{where} CHART",
            f"{shown(arg)!r} is not a chart reference (NAME, REPO/NAME, https:// or oci:// "
            "URL); a local chart path would read the server's disk",
            "name the chart with --repo URL, or give an https:// or oci:// URL",
        )


def secret_output(command: Command) -> Refusal | None:
    """``get all`` and table output with ``--dry-run``/``--debug`` print manifests as text."""
    parsed = command.parsed
    if parsed.path == ("get", "all"):
        return (
            "helm get all",
            "prints the release's manifests and hooks as text among other sections, "
            "where Secret values cannot be redacted",
            "use helm get manifest or helm get hooks (Secrets redacted), get values, "
            "get notes or get metadata",
        )
    if parsed.path not in (("install",), ("upgrade",), ("status",)):
        return None
    fmt = (_last_value(parsed, "output") or "table").lower()
    dry_run = any(
        flag.name == "dry-run" and not is_false(flag.value) and flag.value != "none"
        for flag in parsed.flags
    )
    if fmt == "table" and (dry_run or parsed.has("debug")):
        return (
            f"helm {parsed.path[0]} --dry-run/--debug",
            "prints the rendered manifests and hooks as text, where Secret values cannot "
            "be redacted (--hide-secret does not hide hook Secrets)",
            "add -o yaml or -o json (Secrets redacted), or use helm template",
        )
    return None


def expects_secrets(command: Command) -> bool:
    """Manifests, hooks, templates, and releases printed as JSON or YAML."""
    parsed = command.parsed
    if parsed.path in (("get", "manifest"), ("get", "hooks"), ("template",)):
        return True
    fmt = (_last_value(parsed, "output") or "").lower()
    return fmt in _STRUCTURED and parsed.path[:1] in (("install",), ("upgrade",), ("status",))


def _last_value(parsed: Parsed, name: str) -> str | None:
    value = None
    for flag in parsed.flags:
        if flag.name == name and flag.value is not None:
            value = flag.value
    return value
