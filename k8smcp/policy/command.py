"""Command rules: which flags, commands, files and URLs a caller may put on a command line.

Checks run in a fixed order, so a command breaking several rules is always refused
under the same rule: shell syntax, target/identity/binary flags, parse ambiguities
(``dash-name``, ``flag-unknown``), unknown commands, refused commands and modes, files
and URLs, and last read-only mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from k8smcp.policy.address import HTTP_SCHEMES, check_url, looks_like_url
from k8smcp.policy.base import Policy, deny, shown
from k8smcp.policy.grammar import Grammar, ToolRules, paths
from k8smcp.policy.parse import Flag, Parsed, is_false, parse
from k8smcp.policy.tools import GRAMMARS, TOOL_RULES

_SHELL_TOKENS = frozenset(
    {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "<<<", "|&", "&>", "&>>", ">&", "<&"}
)
_SHELL_EDGE = re.compile(r"^(\|\|?|;|&&|\d?>>?|<)|(\|\|?|;|&&?)$")
_CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_OUTPUT_FORMAT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_OCI = (*HTTP_SCHEMES, "oci")
_STDIN_HINT = "send the content in the request's stdin and pass `-` instead"


_HELM_CHART_VERBS = paths("install", "upgrade", "template", "pull", "show")
_ARGOCD_NO_CORE = paths("version", "completion", "help")


def check_command(policy: Policy, tool: str, args: list[str]) -> None:
    """Refuse ``args`` (the arguments after the tool's name) if the policy forbids them.

    Raises:
        PolicyDeniedError: naming the flag or command and the rule, never a value.
    """
    grammar = GRAMMARS.get(tool)
    if grammar is None:
        raise deny(
            "verb-unknown",
            tool,
            "is not a tool k8smcp knows",
            "use kubectl, helm, istioctl or argocd",
        )
    rules = TOOL_RULES[tool]
    _check_shell(args)
    parsed = parse(grammar, args)
    server = policy.is_server
    strict = server or policy.read_only
    for flag in parsed.flags:
        _check_identity(policy, rules, flag)
    if strict:
        _check_structure(grammar, parsed)
    if server:
        _check_command_path(policy, tool, rules, parsed)
        for flag in parsed.flags:
            _check_interactive(tool, rules, parsed, flag)
    for flag in parsed.flags:
        _check_flag_files(policy, tool, rules, parsed, flag)
    _check_positionals(policy, tool, parsed)
    if policy.read_only and not _read_only(rules, parsed):
        raise deny(
            "read-only",
            _describe(tool, parsed.path),
            "can change the cluster, and this server is read-only (K8SMCP_READ_ONLY)",
            "use a command that only reads: get, describe, logs, list, status",
        )


def is_read_only(tool: str, args: list[str]) -> bool:
    """True when ``args`` run a command on the tool's read-only allowlist.

    >>> is_read_only("kubectl", ["-n", "kube-system", "get", "pods"])
    True
    >>> is_read_only("kubectl", ["delete", "pod", "web"])
    False
    """
    grammar = GRAMMARS.get(tool)
    if grammar is None:
        return False
    parsed = parse(grammar, args)
    if parsed.unknown_command is not None or parsed.early_unknown or parsed.dash_value:
        return False
    return _read_only(TOOL_RULES[tool], parsed)


def _read_only(rules: ToolRules, parsed: Parsed) -> bool:
    if not parsed.path:
        return not parsed.positionals and not parsed.rest  # flags only: help, version
    return any(parsed.path[: len(p)] == p for p in rules.read_only)


def _check_shell(args: list[str]) -> None:
    for index, arg in enumerate(args):
        problem = None
        if "\x00" in arg:
            problem = "contains a NUL byte, which no process argument can carry"
        elif arg in _SHELL_TOKENS or _SHELL_EDGE.search(arg):
            problem = f"is the shell operator {shown(arg.strip(), 4)!r}"
        elif "`" in arg or "$(" in arg:
            problem = "contains shell command substitution (` or $( )"
        if problem:
            raise deny(
                "shell",
                f"argument {index + 1}",
                f"{problem}, but no shell runs: pipes, redirections, `;` and substitutions "
                "do nothing here",
                "run one command per call and filter the output yourself "
                "(e.g. with -o jsonpath, -l selectors or --field-selector)",
            )


def _check_identity(policy: Policy, rules: ToolRules, flag: Flag) -> None:
    if flag.name in rules.impersonation and not policy.allow_impersonation:
        raise deny(
            "impersonation",
            flag.spelled,
            "impersonation is not allowed",
            "send a kubeconfig for the identity you need (the operator can set "
            "K8SMCP_ALLOW_IMPERSONATION)",
        )
    if not policy.is_server:
        return
    if flag.name in rules.target:
        raise deny(
            "flag-target",
            flag.spelled,
            "changes the cluster, credentials or client configuration, which come only "
            "from the kubeconfig sent with the request",
            "put the server and credentials in the kubeconfig (select entries with --context)",
        )
    if flag.name in rules.binary:
        raise deny("flag-binary", flag.spelled, "runs another program on the server", "drop it")


def _check_structure(grammar: Grammar, parsed: Parsed) -> None:
    if parsed.dash_value is not None:
        flag = parsed.dash_value
        raise deny(
            "dash-name",
            flag.spelled,
            "is followed by an argument starting with '-' where its value should be",
            f"give the value, or write `{flag.spelled}=VALUE` if it really starts with '-'",
        )
    if parsed.early_unknown is not None:
        flag = parsed.early_unknown
        if len(flag.spelled) > 2 and not flag.spelled.startswith("--"):
            raise deny(
                "flag-unknown",
                flag.spelled,
                "bundles a flag that takes the next argument as its value before the "
                f"command, which {grammar.tool} could read as the command",
                "write that flag on its own (`-n VALUE`) or as `-n=VALUE`",
            )
        raise deny(
            "flag-unknown",
            flag.spelled,
            f"is not a global {grammar.tool} flag, so it cannot stand before the command",
            "put it after the command",
        )
    if parsed.unknown_command is not None:
        where = _describe(grammar.tool, parsed.path)
        raise deny(
            "verb-unknown",
            where,
            f"has no command {shown(parsed.unknown_command)!r}; an unknown command would run "
            "a plugin program from the server's PATH",
            f"see `{where} --help` for the commands there are",
        )
    if not parsed.path and parsed.rest:
        raise deny(
            "verb-unknown",
            grammar.tool,
            "has no command before `--`",
            "put the command first",
        )


def _check_command_path(policy: Policy, tool: str, rules: ToolRules, parsed: Parsed) -> None:
    for end in range(1, len(parsed.path) + 1):
        entry = rules.denied.get(parsed.path[:end])
        if entry is not None:
            rule, instead = entry
            raise deny(
                rule, _describe(tool, parsed.path[:end]), "is refused on this server", instead
            )
    if tool == "kubectl" and parsed.path == ("config", "view") and parsed.has("raw", "flatten"):
        raise deny(
            "raw-config",
            "--raw" if parsed.has("raw") else "--flatten",
            "would print the kubeconfig's credentials",
            "use `config view` without it (credentials stay redacted)",
        )
    if tool == "helm" and parsed.path == ("registry", "login") and not policy.allow_registry_login:
        raise deny(
            "registry-login",
            "helm registry login",
            "is refused on this server",
            "pass --username/--password to the command that pulls the chart "
            "(the operator can set K8SMCP_ALLOW_REGISTRY_LOGIN)",
        )
    if tool == "helm" and parsed.has("dependency-update"):
        raise deny(
            "url",
            "--dependency-update",
            "fetches the repositories a chart names for its dependencies, which the "
            "address policy cannot check",
            "use a chart that ships its dependencies in charts/",
        )
    if tool == "argocd" and not parsed.has("core"):
        if parsed.path and parsed.path[:1] not in _ARGOCD_NO_CORE:
            raise deny(
                "argocd-core",
                _describe(tool, parsed.path),
                "would talk to an Argo CD API server, which needs a login this server "
                "does not keep",
                "add --core so argocd uses the kubeconfig's cluster directly",
            )


def _check_interactive(tool: str, rules: ToolRules, parsed: Parsed, flag: Flag) -> None:
    if flag.name in rules.interactive and not is_false(flag.value):
        raise deny(
            "interactive",
            flag.spelled,
            "needs a terminal or an editor, which a request does not have",
            "run it non-interactively: `exec POD -- COMMAND` without -i/-t, and `patch` "
            "or `apply -f -` instead of an editor",
        )


def _check_flag_files(
    policy: Policy, tool: str, rules: ToolRules, parsed: Parsed, flag: Flag
) -> None:
    if flag.value is None:
        return
    if flag.name in rules.stdin_files:
        schemes = HTTP_SCHEMES if flag.name in rules.url_files else ()
        _check_file_value(policy, flag.spelled, flag.value, stdin=True, schemes=schemes)
    elif flag.name in rules.files:
        _check_file_value(policy, flag.spelled, flag.value, stdin=False, schemes=())
    elif flag.name in rules.url_flags:
        _check_url_value(policy, flag.spelled, flag.value, _OCI)
    elif flag.name == "set" and rules.set_path_keys and not policy.allow_local_files:
        key = flag.value.split("=", 1)[0].strip().lower()
        if key in rules.set_path_keys:
            raise deny(
                "file-path",
                f"{flag.spelled} {shown(key)}",
                "names a directory on the server",
                "use the charts built into the CLI",
            )
    elif flag.name == "output" and not policy.allow_local_files:
        fmt = flag.value.split("=", 1)[0]
        if fmt.lower().endswith("file") or not _OUTPUT_FORMAT.match(fmt):
            raise deny(
                "file-path",
                flag.spelled,
                "names a file on the server (a template file or an output path)",
                "give the template inline (-o jsonpath=... or -o go-template=...) and read "
                "the output from the result",
            )


def _check_file_value(
    policy: Policy, where: str, value: str, *, stdin: bool, schemes: tuple[str, ...]
) -> None:
    if stdin and value == "-":
        return
    if schemes and looks_like_url(value):
        _check_url_value(policy, where, value, schemes)
        return
    if policy.allow_local_files:
        return
    raise deny(
        "file-path",
        where,
        "names a file on the server, which k8smcp does not expose to callers",
        _STDIN_HINT if stdin else "give the content inline",
    )


def _check_url_value(policy: Policy, where: str, value: str, schemes: tuple[str, ...]) -> None:
    if not policy.allow_urls:
        raise deny(
            "url",
            where,
            "fetches a URL, and URL arguments are turned off on this server",
            "send the content through stdin",
        )
    check_url(policy, value, field=where, schemes=schemes)


def _check_positionals(policy: Policy, tool: str, parsed: Parsed) -> None:
    path = parsed.path
    args = [*parsed.positionals, *parsed.rest]  # after `--` they are still positionals
    if tool == "helm":
        if path[:1] in _HELM_CHART_VERBS:
            for arg in args:
                _check_chart(policy, _describe(tool, path), arg)
        elif path == ("repo", "add") and len(args) >= 2:
            _check_url_value(policy, "helm repo add URL", args[1], HTTP_SCHEMES)
        elif path == ("push",) and len(args) >= 2:
            _check_url_value(policy, "helm push REMOTE", args[1], ("oci",))
    elif tool == "istioctl" and path == ("analyze",):
        for arg in args:
            _check_file_value(policy, "istioctl analyze FILE", arg, stdin=True, schemes=())
    elif tool == "argocd" and path in (("appset", "create"), ("appset", "generate")):
        for arg in args:
            _check_file_value(
                policy, f"{_describe(tool, path)} FILE", arg, stdin=False, schemes=HTTP_SCHEMES
            )


def _check_chart(policy: Policy, where: str, arg: str) -> None:
    if looks_like_url(arg):
        _check_url_value(policy, f"{where} CHART", arg, _OCI)
    elif not _CHART_NAME.match(arg) and not policy.allow_local_files:
        raise deny(
            "file-path",
            f"{where} CHART",
            f"{shown(arg)!r} is not a chart reference (NAME, REPO/NAME, https:// or oci:// "
            "URL); a local chart path would read the server's disk",
            "name the chart with --repo URL, or give an https:// or oci:// URL",
        )


def _describe(tool: str, path: Iterable[str]) -> str:
    return " ".join((tool, *path))
