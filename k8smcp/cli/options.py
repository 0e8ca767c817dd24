"""The options of the commands, declared once: the flag and help of each ``Options`` field.

A command names the fields it takes (``@with_options(*EXECUTION)``); Typer sees each as an
option backed by ``K8SMCP_<NAME>``, and the command receives them as one typed ``Options``
that it forwards to ``config.build_settings``. ``"binaries"`` stands for one
``--<tool>-bin`` option per tool of the catalog. ``OWN`` declares the options of ``run``
and ``call`` that are not ``Options`` fields (``--json``, ``--url``, ...), with their
types and defaults; a command receives those as keyword arguments of their own.

Nothing here imports Typer until a command is built for it: ``k8smcp.cli.fast`` parses
``run`` and ``call`` from these same tables without Typer.
"""

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from k8smcp.config import DEFAULT_URL, Options

if TYPE_CHECKING:
    from k8smcp.tools import BinOption

KUBECONFIG = "Kubeconfig"
LIMITS = "Limits"
POLICY = "Policy"
BINARIES = "Binaries"
HTTP = "HTTP"


@dataclass(frozen=True, slots=True)
class _Flag:
    help: str
    panel: str | None = None
    decls: tuple[str, ...] = ()  # default: --field-name
    envvar: bool = True  # K8SMCP_<FIELD_NAME>
    min: float | None = None
    show_default: bool = True


FLAGS: dict[str, _Flag] = {
    "kubeconfig_b64": _Flag("Kubeconfig as base64 (first choice).", KUBECONFIG, show_default=False),
    "kubeconfig": _Flag(
        "Kubeconfig file (after --kubeconfig-b64; then $KUBECONFIG, then ~/.kube/config).",
        KUBECONFIG,
        envvar=False,
        show_default=False,
    ),
    "context": _Flag("Kubeconfig context to use.", KUBECONFIG, envvar=False),
    "max_kubeconfig_bytes": _Flag(
        "Largest kubeconfig accepted, checked before decoding.", KUBECONFIG, min=1
    ),
    "timeout": _Flag("Seconds a command may run when the call does not say.", LIMITS, min=0.001),
    "max_timeout": _Flag("Longest timeout a call may ask for.", LIMITS, min=0.001),
    "max_output_bytes": _Flag(
        "Cap on each of stdout and stderr, applied while reading.", LIMITS, min=1
    ),
    "output_budget": _Flag(
        "Bytes of stdout an MCP answer shows unless the call sets max_bytes; the rest is "
        "read with offset.",
        LIMITS,
        min=1,
    ),
    "max_output_budget": _Flag("The largest max_bytes a call may ask for.", LIMITS, min=1),
    "max_concurrency": _Flag(
        "Commands running at once in this process; more wait their turn.", LIMITS, min=1
    ),
    "queue_timeout": _Flag(
        "Seconds a call waits for a free slot before it is refused (HTTP 429).",
        LIMITS,
        min=0.001,
    ),
    "discovery_cache": _Flag(
        "Share kubectl's API discovery cache between calls to the same cluster "
        "(same server and CA; never credentials).",
        LIMITS,
        decls=("--discovery-cache/--no-discovery-cache",),
    ),
    "cache_dir": _Flag(
        "Where shared discovery caches live (default: ~/.cache/k8smcp/discovery, or "
        "<tmp>/k8smcp-cache-<uid> when home is read-only).",
        LIMITS,
        show_default=False,
    ),
    "pass_env": _Flag(
        "Comma-separated variables children inherit beyond the allowlist "
        "(PATH, locale, proxies, CA bundle), e.g. AWS_PROFILE,HOME.",
        LIMITS,
    ),
    "read_only": _Flag(
        "Run only commands that cannot change a cluster (an allowlist per tool).",
        POLICY,
        decls=("--read-only",),
    ),
    "allowed_exec_plugins": _Flag(
        "Comma-separated exec/auth-provider plugins a kubeconfig may run, by bare "
        "name (e.g. kubelogin,aws). serve: none by default; run/stdio: any unless set.",
        POLICY,
    ),
    "allowed_servers": _Flag(
        "Comma-separated hostnames (*.example.com) and CIDRs: when set, the only "
        "API servers, proxies and URLs calls may reach.",
        POLICY,
    ),
    "denied_servers": _Flag(
        "Comma-separated hostnames and CIDRs calls may never reach (link-local and "
        "cloud metadata addresses are refused at server level anyway).",
        POLICY,
    ),
    "allow_impersonation": _Flag(
        "--as/--as-group in commands and kubeconfigs. Default: denied by serve.",
        POLICY,
        decls=("--allow-impersonation/--deny-impersonation",),
        show_default=False,
    ),
    "allow_local_files": _Flag(
        "File arguments (-f PATH, --from-file, chart directories) read on this host. "
        "Default: denied by serve (manifests come through stdin).",
        POLICY,
        decls=("--allow-local-files/--deny-local-files",),
        show_default=False,
    ),
    "allow_registry_login": _Flag(
        "helm registry login. Default: denied by serve.",
        POLICY,
        decls=("--allow-registry-login/--deny-registry-login",),
        show_default=False,
    ),
    "allow_urls": _Flag(
        "URL arguments (apply -f https://..., helm --repo), checked by the address "
        "policy; --deny-urls refuses them all.",
        POLICY,
        decls=("--allow-urls/--deny-urls",),
    ),
    "redact_secrets": _Flag(
        "Replace Secret data in json/yaml output. Default: on for serve.",
        POLICY,
        decls=("--redact-secrets/--no-redact-secrets",),
        show_default=False,
    ),
    "confine": _Flag(
        "Confine each CLI with Landlock (writes to its own directory, TCP only through "
        "k8smcp's egress proxy, which applies the address policy at connect time). Default: "
        "on for serve, which refuses to start where the kernel lacks it; --no-confine opts out.",
        POLICY,
        decls=("--confine/--no-confine",),
        show_default=False,
    ),
    "host": _Flag("Address to listen on."),
    "allow_default_kubeconfig": _Flag(
        "Let requests without a kubeconfig use the server's own (flag, env or "
        "~/.kube/config). Off: such requests are refused.",
        KUBECONFIG,
        decls=("--allow-default-kubeconfig",),
    ),
    "max_body_bytes": _Flag("Largest HTTP request body accepted.", LIMITS, min=1),
    "auth_token": _Flag(
        "Bearer token(s) clients must send to /mcp and /tools (comma-separated).",
        HTTP,
        show_default=False,
    ),
    "auth_token_file": _Flag(
        "File with bearer tokens, one per line (e.g. a mounted Secret).", HTTP, show_default=False
    ),
    "insecure_no_auth": _Flag(
        "Listen beyond loopback without a token (only behind a proxy that authenticates).",
        HTTP,
        decls=("--insecure-no-auth",),
    ),
    "allowed_hosts": _Flag(
        "Comma-separated Host header values accepted (host or host:port; host:* "
        "for any port; * for any). Default: loopback names.",
        HTTP,
    ),
    "allowed_origins": _Flag(
        "Comma-separated browser Origins accepted (e.g. https://app.example). "
        "Default: loopback origins.",
        HTTP,
    ),
}


@dataclass(frozen=True, slots=True)
class _Own:
    """An option that is not an ``Options`` field: the command receives it by name."""

    type: Any
    default: Any
    flag: _Flag


OWN: dict[str, _Own] = {
    "log_level": _Own(str, "warning", _Flag("debug, info, warning or error (logs go to stderr).")),
    "json_out": _Own(
        bool, False, _Flag("Print JSON for scripts.", decls=("--json",), envvar=False)
    ),
    "url": _Own(str, DEFAULT_URL, _Flag("The server's MCP endpoint.")),
    "token": _Own(str | None, None, _Flag("Bearer token for the server.", show_default=False)),
    "list_": _Own(bool, False, _Flag("List the server's tools.", decls=("--list",), envvar=False)),
    "call_timeout": _Own(
        float | None,
        None,
        _Flag(
            "Seconds the command may run (server default if unset).",
            decls=("--timeout",),
            envvar=False,
            min=0.001,
        ),
    ),
}

# The options of every command that executes tools (run, stdio, serve).
EXECUTION = (
    "kubeconfig_b64",
    "kubeconfig",
    "context",
    "timeout",
    "max_timeout",
    "max_output_bytes",
    "output_budget",
    "max_output_budget",
    "max_concurrency",
    "max_kubeconfig_bytes",
    "queue_timeout",
    "discovery_cache",
    "cache_dir",
    "pass_env",
    "read_only",
    "allowed_exec_plugins",
    "allowed_servers",
    "denied_servers",
    "allow_impersonation",
    "allow_local_files",
    "allow_registry_login",
    "allow_urls",
    "redact_secrets",
    "confine",
    "binaries",
)
# ... and serve's own
SERVE = (
    "host",
    "allow_default_kubeconfig",
    "max_body_bytes",
    "auth_token",
    "auth_token_file",
    "insecure_no_auth",
    "allowed_hosts",
    "allowed_origins",
)
KUBECONFIG_OPTIONS = ("kubeconfig_b64", "kubeconfig", "context")
# run's and call's, in the order of their --help
RUN = ("log_level", "json_out", *EXECUTION)
CALL = ("url", "token", "list_", "call_timeout", "json_out", *KUBECONFIG_OPTIONS)


def flag(name: str) -> _Flag:
    """The flag of an ``Options`` field or of one of ``OWN``."""
    return OWN[name].flag if name in OWN else FLAGS[name]


def envvar(name: str) -> str | None:
    """The variable behind option ``name``, if any."""
    return f"K8SMCP_{name.upper()}" if flag(name).envvar else None


def decls(name: str) -> tuple[str, ...]:
    """The option's declarations, as Typer gets them (default: ``--field-name``)."""
    return flag(name).decls or (f"--{name.replace('_', '-')}",)


def types(names: tuple[str, ...]) -> dict[str, Any]:
    """The type of each option in ``names`` ("binaries" excepted)."""
    hints = _hints()
    return {name: OWN[name].type if name in OWN else hints[name] for name in names}


def defaults(names: tuple[str, ...]) -> dict[str, Any]:
    """The default of each option in ``names`` ("binaries" excepted)."""
    fields = _defaults()
    return {name: OWN[name].default if name in OWN else fields[name] for name in names}


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Options)


@functools.cache
def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(Options)}


def binaries(names: tuple[str, ...]) -> list["BinOption"]:
    """The ``--<tool>-bin`` options, if ``names`` has "binaries"."""
    if "binaries" not in names:  # call: the catalog is the server's
        return []
    from k8smcp.tools import bin_options  # names only: no spec, grammar or policy loaded

    return bin_options()


def collect(names: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """A command's keyword arguments from its parsed ``values``.

    Those of ``OWN`` by name, the ``Options`` fields as one ``options``.
    """
    bins = binaries(names)
    fields = {name: values[name] for name in names if name != "binaries" and name not in OWN}
    chosen = {o.tool: path for o in bins if (path := values[o.param])}
    own = {name: values[name] for name in names if name in OWN}
    return {**own, "options": Options(**fields, binaries=chosen)}


def annotated(name: str) -> Any:
    """``Annotated[type, typer.Option(...)]`` of option ``name`` (Typer loads here)."""
    return Annotated[types((name,))[name], _option(name)]


def _option(name: str) -> Any:
    import typer

    found = flag(name)
    return typer.Option(
        *found.decls,
        envvar=envvar(name),
        help=found.help,
        rich_help_panel=found.panel,
        min=found.min,
        show_default=found.show_default,
    )


def with_options(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the options ``names``.

    It receives the ``Options`` fields as one ``options: Options``, those of ``OWN`` as
    keyword arguments of the same name.
    """

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        import typer

        initial = defaults(tuple(name for name in names if name != "binaries"))
        added: list[inspect.Parameter] = []
        for name in names:
            if name != "binaries":
                added.append(
                    inspect.Parameter(
                        name,
                        inspect.Parameter.KEYWORD_ONLY,
                        annotation=annotated(name),
                        default=initial[name],
                    )
                )
                continue
            added += [
                inspect.Parameter(
                    option.param,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[
                        str | None,
                        typer.Option(
                            option.flag,
                            envvar=option.envvar,
                            help=option.help,
                            rich_help_panel=BINARIES,
                        ),
                    ],
                    default=None,
                )
                for option in binaries(names)
            ]
        taken = {p.name for p in added}

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name in taken}
            fn(**kwargs, **collect(names, given))

        signature = inspect.signature(fn, eval_str=True)
        own = [  # a **kwargs of fn's receives what is added here
            p
            for p in signature.parameters.values()
            if p.name not in {"options", *taken} and p.kind is not p.VAR_KEYWORD
        ]
        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *added]
        )
        return command

    return decorate
