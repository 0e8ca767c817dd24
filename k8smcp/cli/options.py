"""The options of the commands, declared once: the flag and help of each ``Options`` field.

A command names the fields it takes (``@with_options(*EXECUTION)``); Typer sees each as an
option backed by ``K8SMCP_<NAME>``, and the command receives them as one typed ``Options``
that it forwards to ``config.build_settings``. ``"binaries"`` stands for one
``--<tool>-bin`` option per tool of the catalog.
"""

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from k8smcp.config import Options

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


def _option(name: str) -> Any:
    flag = FLAGS[name]
    return typer.Option(
        *flag.decls,
        envvar=f"K8SMCP_{name.upper()}" if flag.envvar else None,
        help=flag.help,
        rich_help_panel=flag.panel,
        min=flag.min,
        show_default=flag.show_default,
    )


def with_options(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the ``Options`` fields ``names``, received as ``options: Options``."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        from k8smcp.tools import bin_options  # names only: no spec, grammar or policy loaded

        hints = typing.get_type_hints(Options)
        defaults = {f.name: f.default for f in dataclasses.fields(Options)}
        fields = [name for name in names if name != "binaries"]
        bins = bin_options() if "binaries" in names else []
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[hints[name], _option(name)],
                default=defaults[name],
            )
            for name in fields
        ] + [
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
            for option in bins
        ]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name in fields}
            binaries = {o.tool: path for o in bins if (path := kwargs.pop(o.param))}
            fn(**kwargs, options=Options(**given, binaries=binaries))

        signature = inspect.signature(fn, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "options"]
        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *added]
        )
        return command

    return decorate
