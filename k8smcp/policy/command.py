"""Command rules: which flags, commands, files and URLs a caller may put on a command line.

Checks run in a fixed order, so a command breaking several rules is always refused
under the same rule: shell syntax, target/identity/binary flags, parse ambiguities
(``dash-name``, ``flag-unknown``), unknown commands, refused commands and the tool's
server checks (its ``ToolSpec.server_checks``), files and URLs (then the tool's
``checks``), read-only mode, and with redaction on the log level and the tool's
``secret_output`` hook. Address checks that need DNS come after all of these, once the
caller has resolved the names (``Lookups``). The command is parsed once
(``parse_command``) and the same ``Command`` goes to every check and hook.
"""

from __future__ import annotations

import re

from k8smcp.errors import PolicyDeniedError
from k8smcp.policy.address import HTTP_SCHEMES, Lookups
from k8smcp.policy.base import Policy, deny, shown
from k8smcp.policy.grammar import Grammar, ToolRules
from k8smcp.policy.hooks import Command, Context, Refusal, parse_command
from k8smcp.policy.parse import Flag, Parsed, is_false
from k8smcp.tools import find_tool
from k8smcp.tools.spec import ToolSpec

_SHELL_TOKENS = frozenset(
    {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "<<<", "|&", "&>", "&>>", ">&", "<&"}
)
_SHELL_EDGE = re.compile(r"^(\|\|?|;|&&|\d?>>?|<)|(\|\|?|;|&&?)$")
_OUTPUT_FORMAT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_LEVEL = re.compile(r"^[0-9]{1,2}$")
_OCI = (*HTTP_SCHEMES, "oci")


def check_command(
    policy: Policy,
    tool: str | ToolSpec | Command,
    args: list[str] | None = None,
    *,
    stdin: str | None = None,
    lookups: Lookups | None = None,
) -> None:
    """Refuse a command (the arguments after the tool's name) if the policy forbids it.

    Args:
        policy: the policy in force.
        tool: the tool's name or spec with ``args``, or a ``Command`` parsed once by
            ``parse_command`` (then ``args`` is not given).
        args: the arguments after the tool's name (split).
        stdin: what the call sends on stdin (``-f -`` manifests), if known.
        lookups: where to leave the address checks that need DNS (the caller resolves
            the names and calls ``lookups.finish``); None resolves them here with
            ``policy.resolver``, which may block.

    Raises:
        PolicyDeniedError: naming the flag or command and the rule, never a value.
    """
    command = _command(tool, args, stdin)
    ctx = Context(policy, command, lookups if lookups is not None else Lookups())
    _check(ctx)
    if lookups is None:
        ctx.lookups.resolve(policy.resolver)


def is_read_only(tool: str | ToolSpec | Command, args: list[str] | None = None) -> bool:
    """True when the command runs a command on the tool's read-only allowlist.

    >>> is_read_only("kubectl", ["-n", "kube-system", "get", "pods"])
    True
    >>> is_read_only("kubectl", ["delete", "pod", "web"])
    False
    """
    try:
        command = _command(tool, args)
    except PolicyDeniedError:
        return False
    parsed = command.parsed
    if parsed.unknown_command is not None or parsed.early_unknown or parsed.dash_value:
        return False
    return _read_only(command.spec.rules, parsed)


def secret_output_allowed(
    tool: str | ToolSpec | Command, args: list[str] | None = None, stdin: str | None = None
) -> bool:
    """False when the command would print Secret values where redaction cannot find them.

    ``stdin`` is what the call sends (``-f -`` manifests); None counts as unknown.

    >>> secret_output_allowed("kubectl", ["get", "secrets", "-o", "yaml"])
    True
    >>> secret_output_allowed("kubectl", ["get", "secret", "db", "-o", "jsonpath={.data}"])
    False
    """
    return _secret_refusal(tool, args, stdin) is None


def check_secret_output(
    tool: str | ToolSpec | Command, args: list[str] | None = None, stdin: str | None = None
) -> None:
    """Refuse the command when ``secret_output_allowed`` is False.

    Raises:
        PolicyDeniedError: with ``rule="secret-output"``, saying what to ask for instead.
    """
    refusal = _secret_refusal(tool, args, stdin)
    if refusal is not None:
        raise deny("secret-output", *refusal)


def _secret_refusal(
    tool: str | ToolSpec | Command, args: list[str] | None, stdin: str | None
) -> Refusal | None:
    try:
        command = _command(tool, args, stdin)
    except PolicyDeniedError:  # not a tool: nothing to say about its output
        return None
    hook = command.spec.secret_output
    return hook(command) if hook is not None else None


def _command(
    tool: str | ToolSpec | Command, args: list[str] | None, stdin: str | None = None
) -> Command:
    if isinstance(tool, Command):
        return tool
    spec = find_tool(tool) if isinstance(tool, str) else tool
    if spec is None:
        raise deny(
            "verb-unknown",
            shown(str(tool)),
            "is not a tool k8smcp knows",
            "use one of the tools k8smcp lists",
        )
    return parse_command(spec, list(args or ()), stdin)


def _check(ctx: Context) -> None:
    policy, command = ctx.policy, ctx.command
    spec, parsed = command.spec, command.parsed
    rules = spec.rules
    _check_shell(command.args)
    server = policy.is_server
    for flag in parsed.flags:
        _check_identity(policy, rules, flag)
    if server or policy.read_only:
        _check_structure(spec.grammar, parsed)
    if server:
        _check_denied(command)
        for hook in spec.server_checks:
            hook(ctx)
        for flag in parsed.flags:
            _check_interactive(rules, flag)
    for flag in parsed.flags:
        _check_flag_files(ctx, rules, flag)
    for hook in spec.checks:
        hook(ctx)
    if policy.read_only and not _read_only(rules, parsed):
        raise deny(
            "read-only",
            command.describe(),
            "can change the cluster, and this server is read-only (K8SMCP_READ_ONLY)",
            "use a command that only reads: get, describe, logs, list, status",
        )
    if policy.redact_secrets:
        _check_verbosity(rules, parsed)
        check_secret_output(command)


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
                f"{problem}, but no shell runs: redirections, `;`, `&&`, `||` and "
                "substitutions do nothing here",
                "run one command per call; narrow it with -l, --field-selector or -o jsonpath, "
                "or pipe it into a filter: ` | grep x`, ` | jq .items` (separate the `|`)",
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


def _check_denied(command: Command) -> None:
    path = command.parsed.path
    for end in range(1, len(path) + 1):
        entry = command.spec.rules.denied.get(path[:end])
        if entry is not None:
            rule, instead = entry
            raise deny(rule, command.describe(path[:end]), "is refused on this server", instead)


def _check_verbosity(rules: ToolRules, parsed: Parsed) -> None:
    for flag in parsed.flags:
        highest = rules.log_levels.get(flag.name)
        if highest is None or flag.value is None:
            continue
        levels = [part.rpartition("=")[2].strip() for part in flag.value.split(",")]
        if all(_LEVEL.match(level) and int(level) <= highest for level in levels):
            continue
        raise deny(
            "verbosity",
            flag.spelled,
            "at this level the client logs API requests and responses, Secret values "
            "among them, where redaction cannot find them",
            f"use a level of {highest} or lower",
        )


def _check_interactive(rules: ToolRules, flag: Flag) -> None:
    if flag.name in rules.interactive and not is_false(flag.value):
        raise deny(
            "interactive",
            flag.spelled,
            "needs a terminal or an editor, which a request does not have",
            "run it non-interactively: `exec POD -- COMMAND` without -i/-t, and `patch` "
            "or `apply -f -` instead of an editor",
        )


def _check_flag_files(ctx: Context, rules: ToolRules, flag: Flag) -> None:
    policy = ctx.policy
    if flag.value is None:
        return
    if flag.name in rules.stdin_files:
        schemes = HTTP_SCHEMES if flag.name in rules.url_files else ()
        ctx.file(flag.spelled, flag.value, stdin=True, schemes=schemes)
    elif flag.name in rules.files:
        ctx.file(flag.spelled, flag.value, stdin=False)
    elif flag.name in rules.url_flags:
        ctx.url(flag.spelled, flag.value, _OCI)
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


def _describe(tool: str, path: tuple[str, ...]) -> str:
    return " ".join((tool, *path))
