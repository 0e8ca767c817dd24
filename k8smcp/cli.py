"""The ``k8smcp`` command: serve | stdio | run | call | tools.

The only module that prints or exits. Each command builds Settings from its options
(every option has a K8SMCP_* variable behind it), calls into the core once, and renders.
mcp and fastapi are imported inside the commands that need them, so --help stays fast.
"""

import functools
import gc
import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
import typer

from k8smcp import __version__, config
from k8smcp.config import Mode, Settings
from k8smcp.errors import K8sMcpError, UsageError

T = TypeVar("T")

app = typer.Typer(
    name="k8smcp",
    help="Run kubectl, helm, istioctl and argocd against any cluster: over MCP (stdio or "
    "HTTP), REST, or straight from the terminal. The kubeconfig travels with each call.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

PASSTHROUGH = {"allow_interspersed_args": False, "ignore_unknown_options": True}
LIMITS = "Limits"
BINARIES = "Binaries"
KUBECONFIG = "Kubeconfig"
HTTP = "HTTP"

# Options shared by the commands that execute tools. Declared once, used in each signature.
KubeconfigB64 = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig-b64",
        envvar="K8SMCP_KUBECONFIG_B64",
        help="Kubeconfig as base64 (first choice).",
        rich_help_panel=KUBECONFIG,
        show_default=False,
    ),
]
KubeconfigPath = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig file (after --kubeconfig-b64; then $KUBECONFIG, then ~/.kube/config).",
        rich_help_panel=KUBECONFIG,
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option("--context", help="Kubeconfig context to use.", rich_help_panel=KUBECONFIG),
]
MaxKubeconfigBytes = Annotated[
    int,
    typer.Option(
        envvar="K8SMCP_MAX_KUBECONFIG_BYTES",
        min=1,
        help="Largest kubeconfig accepted, checked before decoding.",
        rich_help_panel=KUBECONFIG,
    ),
]
Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        envvar="K8SMCP_TIMEOUT",
        min=0.001,
        help="Seconds a command may run when the call does not say.",
        rich_help_panel=LIMITS,
    ),
]
MaxTimeout = Annotated[
    float,
    typer.Option(
        envvar="K8SMCP_MAX_TIMEOUT",
        min=0.001,
        help="Longest timeout a call may ask for.",
        rich_help_panel=LIMITS,
    ),
]
MaxOutputBytes = Annotated[
    int,
    typer.Option(
        envvar="K8SMCP_MAX_OUTPUT_BYTES",
        min=1,
        help="Cap on each of stdout and stderr, applied while reading.",
        rich_help_panel=LIMITS,
    ),
]
MaxConcurrency = Annotated[
    int,
    typer.Option(
        envvar="K8SMCP_MAX_CONCURRENCY",
        min=1,
        help="Commands running at once in this process; more wait their turn.",
        rich_help_panel=LIMITS,
    ),
]
PassEnv = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_PASS_ENV",
        help="Comma-separated variables children inherit beyond the allowlist "
        "(PATH, locale, proxies, CA bundle), e.g. AWS_PROFILE,HOME.",
        rich_help_panel=LIMITS,
    ),
]
KubectlBin = Annotated[
    str | None,
    typer.Option(envvar="K8SMCP_KUBECTL_BIN", help="kubectl binary.", rich_help_panel=BINARIES),
]
HelmBin = Annotated[
    str | None,
    typer.Option(envvar="K8SMCP_HELM_BIN", help="helm binary.", rich_help_panel=BINARIES),
]
IstioctlBin = Annotated[
    str | None,
    typer.Option(envvar="K8SMCP_ISTIOCTL_BIN", help="istioctl binary.", rich_help_panel=BINARIES),
]
ArgocdBin = Annotated[
    str | None,
    typer.Option(envvar="K8SMCP_ARGOCD_BIN", help="argocd binary.", rich_help_panel=BINARIES),
]
LogLevel = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_LOG_LEVEL",
        help="debug, info, warning or error (logs go to stderr).",
    ),
]
LogFormat = Annotated[
    Literal["text", "json"],
    typer.Option(
        envvar="K8SMCP_LOG_FORMAT",
        help="text (for people) or json (one object a line, for log pipelines).",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
POLICY = "Policy"
ReadOnly = Annotated[
    bool,
    typer.Option(
        "--read-only",
        envvar="K8SMCP_READ_ONLY",
        help="Run only commands that cannot change a cluster (an allowlist per tool).",
        rich_help_panel=POLICY,
    ),
]
AllowedExecPlugins = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_ALLOWED_EXEC_PLUGINS",
        help="Comma-separated exec/auth-provider plugins a kubeconfig may run, by bare "
        "name (e.g. kubelogin,aws). serve: none by default; run/stdio: any unless set.",
        rich_help_panel=POLICY,
    ),
]
AllowedServers = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_ALLOWED_SERVERS",
        help="Comma-separated hostnames (*.example.com) and CIDRs: when set, the only "
        "API servers, proxies and URLs calls may reach.",
        rich_help_panel=POLICY,
    ),
]
DeniedServers = Annotated[
    str,
    typer.Option(
        envvar="K8SMCP_DENIED_SERVERS",
        help="Comma-separated hostnames and CIDRs calls may never reach (link-local and "
        "cloud metadata addresses are refused at server level anyway).",
        rich_help_panel=POLICY,
    ),
]
AllowImpersonation = Annotated[
    bool | None,
    typer.Option(
        "--allow-impersonation/--deny-impersonation",
        envvar="K8SMCP_ALLOW_IMPERSONATION",
        help="--as/--as-group in commands and kubeconfigs. Default: denied by serve.",
        rich_help_panel=POLICY,
        show_default=False,
    ),
]
AllowLocalFiles = Annotated[
    bool | None,
    typer.Option(
        "--allow-local-files/--deny-local-files",
        envvar="K8SMCP_ALLOW_LOCAL_FILES",
        help="File arguments (-f PATH, --from-file, chart directories) read on this host. "
        "Default: denied by serve (manifests come through stdin).",
        rich_help_panel=POLICY,
        show_default=False,
    ),
]
AllowRegistryLogin = Annotated[
    bool | None,
    typer.Option(
        "--allow-registry-login/--deny-registry-login",
        envvar="K8SMCP_ALLOW_REGISTRY_LOGIN",
        help="helm registry login. Default: denied by serve.",
        rich_help_panel=POLICY,
        show_default=False,
    ),
]
AllowUrls = Annotated[
    bool,
    typer.Option(
        "--allow-urls/--deny-urls",
        envvar="K8SMCP_ALLOW_URLS",
        help="URL arguments (apply -f https://..., helm --repo), checked by the address "
        "policy; --deny-urls refuses them all.",
        rich_help_panel=POLICY,
    ),
]
RedactSecrets = Annotated[
    bool | None,
    typer.Option(
        "--redact-secrets/--no-redact-secrets",
        envvar="K8SMCP_REDACT_SECRETS",
        help="Replace Secret data in json/yaml output. Default: on for serve.",
        rich_help_panel=POLICY,
        show_default=False,
    ),
]
DiscoveryCache = Annotated[
    bool,
    typer.Option(
        "--discovery-cache/--no-discovery-cache",
        envvar="K8SMCP_DISCOVERY_CACHE",
        help="Share kubectl's API discovery cache between calls to the same cluster "
        "(same server and CA; never credentials).",
        rich_help_panel=LIMITS,
    ),
]
CacheDir = Annotated[
    str | None,
    typer.Option(
        envvar="K8SMCP_CACHE_DIR",
        help="Where shared discovery caches live (default: ~/.cache/k8smcp/discovery, or "
        "<tmp>/k8smcp-cache-<uid> when home is read-only).",
        rich_help_panel=LIMITS,
        show_default=False,
    ),
]
QueueTimeout = Annotated[
    float,
    typer.Option(
        envvar="K8SMCP_QUEUE_TIMEOUT",
        min=0.001,
        help="Seconds a call waits for a free slot before it is refused (HTTP 429).",
        rich_help_panel=LIMITS,
    ),
]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"k8smcp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Run Kubernetes CLIs for LLM agents, people and scripts."""


_NOT_SETTINGS = frozenset(
    {
        "tool",
        "args",
        "json_out",
        "auth_token",
        "auth_token_file",
        "insecure_no_auth",
        "log_format",
        "keep_alive_timeout",
    }
)
_POLICY_OPTIONS = (
    "read_only",
    "allowed_exec_plugins",
    "allowed_servers",
    "denied_servers",
    "allow_impersonation",
    "allow_local_files",
    "allow_registry_login",
    "allow_urls",
)


def _settings(mode: Mode, params: dict[str, Any]) -> Settings:
    """Settings from a command's parsed options; loads the local kubeconfig if any."""
    from k8smcp import kubeconfig as kc

    values = {k: v for k, v in params.items() if k not in _NOT_SETTINGS}

    binaries = _binaries(values)
    for option in _BIN_OPTIONS:
        values.pop(option, None)
    pass_env = _csv(values.pop("pass_env", ""))
    b64 = values.pop("kubeconfig_b64", None)
    path = values.pop("kubeconfig", None)
    context = values.pop("context", None)
    default = None
    # A server reads no kubeconfig of its own unless the operator allows its use.
    if mode == "local" or values.get("allow_default_kubeconfig"):
        default = kc.load_local(
            b64=b64,
            path=str(path) if path else None,
            env_kubeconfig=config.environ("KUBECONFIG"),
            home=Path.home(),
            context=context,
            max_bytes=values["max_kubeconfig_bytes"],
        )
    if "timeout" in values:
        values["default_timeout"] = values.pop("timeout")
    values["policy"] = _policy(mode, {k: values.pop(k) for k in _POLICY_OPTIONS if k in values})
    if values.get("redact_secrets") is None:
        values["redact_secrets"] = mode == "server"
    for name in ("allowed_hosts", "allowed_origins"):
        if name in values:
            values[name] = _csv(values[name])
    return Settings(
        mode=mode, binaries=binaries, pass_env=pass_env, default_kubeconfig=default, **values
    )


def _policy(mode: Mode, options: dict[str, Any]) -> Any:
    """The Policy of ``mode``, with the operator's options applied where they were given."""
    from k8smcp.policy import Policy

    overrides: dict[str, Any] = {}
    for name, value in options.items():
        if name in ("allowed_servers", "denied_servers"):
            value = _csv(value) or None
        elif name == "allowed_exec_plugins":
            value = frozenset(_csv(value)) or None
        if value is not None:
            overrides[name] = value
    return Policy.server(**overrides) if mode == "server" else Policy.local(**overrides)


# option name (``--kubectl-bin`` ...) -> tool
_BIN_OPTIONS = {f"{tool}_bin": tool for tool in ("kubectl", "helm", "istioctl", "argocd")}


def _binaries(params: dict[str, Any]) -> dict[str, str]:
    """Tool name -> binary, from the ``--<tool>-bin`` options that were given."""
    return {tool: path for option, tool in _BIN_OPTIONS.items() if (path := params.get(option))}


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _guard(fn: Callable[[], T], *, as_json: bool = False) -> T:
    """Run ``fn``: a K8sMcpError becomes one line on stderr and its exit code."""
    try:
        return fn()
    except K8sMcpError as exc:
        from k8smcp.output import print_error  # rich loads only when there is an error

        print_error(exc, as_json=as_json)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _run_async(fn: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    _collect_garbage()
    return _guard(lambda: anyio.run(fn), as_json=as_json)


def _collect_garbage() -> None:
    """Turn the garbage collector on for the command's own work, once its imports are done.

    The entry point (``k8smcp.__main__``) starts every command with the collector off; the
    objects made until now (modules, pydantic models, the app) live as long as the process,
    so they are frozen out of every later collection.
    """
    gc.freeze()
    gc.enable()


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


# The options of every command that executes tools (run, stdio, serve), declared once.
# The commands read them from ctx.params, which is what _settings() takes.
EXECUTION_OPTIONS = (
    _option("kubeconfig_b64", KubeconfigB64, None),
    _option("kubeconfig", KubeconfigPath, None),
    _option("context", ContextOpt, None),
    _option("timeout", Timeout, config.DEFAULT_TIMEOUT),
    _option("max_timeout", MaxTimeout, config.DEFAULT_MAX_TIMEOUT),
    _option("max_output_bytes", MaxOutputBytes, config.DEFAULT_MAX_OUTPUT_BYTES),
    _option("max_concurrency", MaxConcurrency, config.DEFAULT_MAX_CONCURRENCY),
    _option("max_kubeconfig_bytes", MaxKubeconfigBytes, config.DEFAULT_MAX_KUBECONFIG_BYTES),
    _option("queue_timeout", QueueTimeout, config.DEFAULT_QUEUE_TIMEOUT),
    _option("discovery_cache", DiscoveryCache, True),
    _option("cache_dir", CacheDir, None),
    _option("pass_env", PassEnv, ""),
    _option("read_only", ReadOnly, False),
    _option("allowed_exec_plugins", AllowedExecPlugins, ""),
    _option("allowed_servers", AllowedServers, ""),
    _option("denied_servers", DeniedServers, ""),
    _option("allow_impersonation", AllowImpersonation, None),
    _option("allow_local_files", AllowLocalFiles, None),
    _option("allow_registry_login", AllowRegistryLogin, None),
    _option("allow_urls", AllowUrls, True),
    _option("redact_secrets", RedactSecrets, None),
    _option("kubectl_bin", KubectlBin, None),
    _option("helm_bin", HelmBin, None),
    _option("istioctl_bin", IstioctlBin, None),
    _option("argocd_bin", ArgocdBin, None),
)


def _execution_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Add EXECUTION_OPTIONS to a command: Typer sees them, the command reads ctx.params."""
    names = {option.name for option in EXECUTION_OPTIONS}

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> None:
        fn(*args, **{k: v for k, v in kwargs.items() if k not in names})

    signature = inspect.signature(fn, eval_str=True)
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *EXECUTION_OPTIONS]
    )
    return command


@app.command(context_settings=PASSTHROUGH)
@_execution_options
def run(
    ctx: typer.Context,
    tool: Annotated[str, typer.Argument(help="kubectl, helm, istioctl or argocd.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    log_level: LogLevel = "warning",
    json_out: JsonOut = False,
) -> None:
    """Run a tool here, with the local kubeconfig, and exit with its exit code.

    k8smcp's own options go before the tool's name; everything after it is the tool's.
    Standard input is passed on when an argument is `-` (as in `apply -f -`).

    Example: k8smcp run kubectl get pods -n kube-system
    """
    from k8smcp.log import configure_logging
    from k8smcp.service import Service, ToolCall

    configure_logging(log_level)
    tool_args = list(args or [])
    settings = _guard(lambda: _settings("local", ctx.params), as_json=json_out)
    stdin = sys.stdin.read() if _wants_stdin(tool_args) else None
    call = ToolCall(
        tool=tool,
        command=tool_args,
        stdin=stdin,
        timeout=ctx.params["timeout"],
        client="cli",
        entry="cli",
    )
    from k8smcp.output import waiting

    with waiting(f"{tool} {' '.join(tool_args[:3])} ..."):
        result = _run_async(lambda: Service(settings).call_tool(call), as_json=json_out)
    _finish(result, json_out)


@app.command()
@_execution_options
def stdio(
    ctx: typer.Context,
    log_level: LogLevel = "warning",
    log_format: LogFormat = "text",
) -> None:
    """Serve MCP over stdin/stdout, for clients that spawn k8smcp (Claude Desktop, Cursor).

    Tool calls without a kubeconfig argument use the kubeconfig found at launch.
    """
    from k8smcp.log import configure_logging

    configure_logging(log_level, log_format)
    settings = _guard(lambda: _settings("local", ctx.params))

    from k8smcp.mcp_server import build_server
    from k8smcp.service import Service

    async def serve_stdio() -> None:
        service = Service(settings)
        try:
            await build_server(service).run_stdio_async()
        finally:
            await service.aclose()

    _run_async(serve_stdio)


@app.command()
@_execution_options
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(envvar="K8SMCP_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="K8SMCP_PORT", min=0, max=65535, help="Port to listen on.")
    ] = config.DEFAULT_PORT,
    allow_default_kubeconfig: Annotated[
        bool,
        typer.Option(
            "--allow-default-kubeconfig",
            envvar="K8SMCP_ALLOW_DEFAULT_KUBECONFIG",
            help="Let requests without a kubeconfig use the server's own (flag, env or "
            "~/.kube/config). Off: such requests are refused.",
            rich_help_panel=KUBECONFIG,
        ),
    ] = False,
    max_body_bytes: Annotated[
        int,
        typer.Option(
            envvar="K8SMCP_MAX_BODY_BYTES",
            min=1,
            help="Largest HTTP request body accepted.",
            rich_help_panel=LIMITS,
        ),
    ] = config.DEFAULT_MAX_BODY_BYTES,
    auth_token: Annotated[
        str | None,
        typer.Option(
            envvar="K8SMCP_AUTH_TOKEN",
            help="Bearer token(s) clients must send to /mcp and /tools (comma-separated).",
            rich_help_panel=HTTP,
            show_default=False,
        ),
    ] = None,
    auth_token_file: Annotated[
        Path | None,
        typer.Option(
            envvar="K8SMCP_AUTH_TOKEN_FILE",
            help="File with bearer tokens, one per line (e.g. a mounted Secret).",
            rich_help_panel=HTTP,
            show_default=False,
        ),
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            envvar="K8SMCP_INSECURE_NO_AUTH",
            help="Listen beyond loopback without a token (only behind a proxy that authenticates).",
            rich_help_panel=HTTP,
        ),
    ] = False,
    allowed_hosts: Annotated[
        str,
        typer.Option(
            envvar="K8SMCP_ALLOWED_HOSTS",
            help="Comma-separated Host header values accepted (host or host:port; host:* "
            "for any port; * for any). Default: loopback names.",
            rich_help_panel=HTTP,
        ),
    ] = "",
    allowed_origins: Annotated[
        str,
        typer.Option(
            envvar="K8SMCP_ALLOWED_ORIGINS",
            help="Comma-separated browser Origins accepted (e.g. https://app.example). "
            "Default: loopback origins.",
            rich_help_panel=HTTP,
        ),
    ] = "",
    keep_alive_timeout: Annotated[
        int,
        typer.Option(
            envvar="K8SMCP_KEEP_ALIVE_TIMEOUT",
            min=1,
            help="Seconds an idle HTTP connection stays open; keep it above the idle "
            "timeout of the proxy or load balancer in front.",
            rich_help_panel=HTTP,
        ),
    ] = config.DEFAULT_KEEP_ALIVE_TIMEOUT,
    log_level: LogLevel = "info",
    log_format: LogFormat = "text",
) -> None:
    """Serve MCP (streamable HTTP at /mcp) and REST (/tools/<tool>) over HTTP.

    Each request brings its kubeconfig, base64, in the X-Kubeconfig header.
    OpenAPI docs are at /docs; /health answers when the server is up.

    Example: k8smcp serve --port 9096, then
    curl -H "X-Kubeconfig: $(base64 -w0 ~/.kube/config)" -d '{"command": "get ns"}'
    -H 'content-type: application/json' http://127.0.0.1:9096/tools/kubectl
    """
    from k8smcp.log import configure_logging

    configure_logging(log_level, log_format)

    def server_settings() -> Settings:
        tokens = _tokens(auth_token, auth_token_file)
        if not tokens and not insecure_no_auth and not config.is_loopback(host):
            raise UsageError(
                f"refusing to listen on {host} without authentication: set "
                "K8SMCP_AUTH_TOKEN or K8SMCP_AUTH_TOKEN_FILE, or pass --insecure-no-auth "
                "when a proxy in front of k8smcp authenticates"
            )
        return replace(_settings("server", ctx.params), auth_tokens=tokens)

    settings = _guard(server_settings)

    import uvicorn

    from k8smcp.http_app import build_app
    from k8smcp.metrics import Metrics
    from k8smcp.service import Service

    server = uvicorn.Server(
        uvicorn.Config(
            build_app(Service(settings, observer=Metrics())),
            host=host,
            port=port,
            log_config=None,  # keep configure_logging's handlers
            log_level=log_level.lower(),
            timeout_graceful_shutdown=5,
            timeout_keep_alive=keep_alive_timeout,
        )
    )
    _collect_garbage()
    server.run()
    if not server.started:
        raise typer.Exit(1)


@app.command(context_settings=PASSTHROUGH)
def call(
    tool: Annotated[
        str | None, typer.Argument(help="kubectl, helm, istioctl or argocd.", show_default=False)
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    url: Annotated[
        str, typer.Option(envvar="K8SMCP_URL", help="The server's MCP endpoint.")
    ] = "http://127.0.0.1:9096/mcp",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="K8SMCP_TOKEN", help="Bearer token for the server.", show_default=False
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the server's tools.")] = False,
    kubeconfig_b64: KubeconfigB64 = None,
    kubeconfig: KubeconfigPath = None,
    context: ContextOpt = None,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.001, help="Seconds the command may run (server default if unset)."),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Run a tool on a running k8smcp server, sending the local kubeconfig with it.

    The kubeconfig (as `run` finds it) travels in the X-Kubeconfig header, never in the
    tool's arguments. Exits with the remote command's exit code.

    Example: k8smcp call --url http://127.0.0.1:9096/mcp kubectl get pods -n web
    """
    from k8smcp import client
    from k8smcp import kubeconfig as kc
    from k8smcp.log import configure_logging

    configure_logging("warning")
    if list_:
        tools = _run_async(lambda: client.list_tools(url, token=token), as_json=json_out)
        if json_out:
            from k8smcp.output import print_json

            print_json(tools)
        else:
            from k8smcp.output import print_remote_tools

            print_remote_tools(tools)
        return
    if tool is None:
        typer.echo("Error: give a tool and its arguments, or --list.", err=True)
        raise typer.Exit(2)
    tool_args = list(args or [])

    def local_b64() -> str | None:
        import base64

        if kubeconfig_b64:
            return kubeconfig_b64
        found = kc.load_local(
            b64=None,
            path=str(kubeconfig) if kubeconfig else None,
            env_kubeconfig=config.environ("KUBECONFIG"),
            home=Path.home(),
            max_bytes=config.DEFAULT_MAX_KUBECONFIG_BYTES,
        )
        return base64.b64encode(found.render()).decode() if found else None

    sent = _guard(local_b64, as_json=json_out)
    stdin = sys.stdin.read() if _wants_stdin(tool_args) else None
    from k8smcp.output import waiting

    with waiting(f"{tool} {' '.join(tool_args[:3])} on {url} ..."):
        result = _run_async(
            lambda: client.call(
                url,
                tool,
                tool_args,
                kubeconfig=sent,
                token=token,
                timeout=timeout,
                context=context,
                stdin=stdin,
            ),
            as_json=json_out,
        )
    _finish(result, json_out)


@app.command()
def tools(
    ctx: typer.Context,
    kubectl_bin: KubectlBin = None,
    helm_bin: HelmBin = None,
    istioctl_bin: IstioctlBin = None,
    argocd_bin: ArgocdBin = None,
    json_out: JsonOut = False,
) -> None:
    """Show which tools are installed here, where, and which versions."""
    from dataclasses import asdict

    from k8smcp.output import print_json, print_tools
    from k8smcp.service import Service

    binaries = _binaries(ctx.params)
    statuses = _run_async(Service(Settings(binaries=binaries)).catalog)
    if json_out:
        print_json([asdict(s) for s in statuses])
    else:
        print_tools(statuses)


def _tokens(inline: str | None, file: Path | None) -> tuple[str, ...]:
    tokens = list(_csv(inline))
    if file is not None:
        try:
            tokens += [line.strip() for line in file.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise UsageError(f"cannot read the auth token file {file}: {exc.strerror}") from exc
    return tuple(tokens)


@app.command()
def doctor(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="K8SMCP_URL", help="Also check this server's MCP endpoint.", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="K8SMCP_TOKEN", help="Bearer token for the server.", show_default=False
        ),
    ] = None,
    kubeconfig_b64: KubeconfigB64 = None,
    kubeconfig: KubeconfigPath = None,
    context: ContextOpt = None,
    kubectl_bin: KubectlBin = None,
    helm_bin: HelmBin = None,
    istioctl_bin: IstioctlBin = None,
    argocd_bin: ArgocdBin = None,
    json_out: JsonOut = False,
) -> None:
    """Check the CLIs, the local kubeconfig and (with --url) a running server.

    Exits 0 when nothing failed, 1 otherwise; warnings (an optional CLI missing, a
    kubeconfig a server would refuse) do not fail.

    Example: k8smcp doctor --url http://127.0.0.1:9096/mcp
    """
    from dataclasses import asdict

    from k8smcp import doctor as checks
    from k8smcp.output import print_checks, print_json

    binaries = _binaries(ctx.params)

    async def run_checks() -> list[checks.Check]:
        found = await checks.check_tools(Settings(binaries=binaries))
        found += checks.check_kubeconfig(
            b64=kubeconfig_b64,
            path=str(kubeconfig) if kubeconfig else None,
            env_kubeconfig=config.environ("KUBECONFIG"),
            home=Path.home(),
            context=context,
            max_bytes=config.DEFAULT_MAX_KUBECONFIG_BYTES,
        )
        if url:
            found += await checks.check_server(url, token)
        return found

    results = _run_async(run_checks, as_json=json_out)
    if json_out:
        print_json([asdict(c) for c in results])
    else:
        print_checks(results)
    raise typer.Exit(1 if any(c.status == "fail" for c in results) else 0)


def _finish(result: Any, json_out: bool) -> None:
    from k8smcp.output import print_json, print_result

    if json_out:
        print_json(result.to_dict())
    else:
        print_result(result)
    raise typer.Exit(result.exit_code)


def _wants_stdin(args: list[str]) -> bool:
    return any(a == "-" or a.endswith("=-") for a in args)


def _load_help_renderer() -> None:
    """Import Typer's rich help renderer without the two rich modules it never uses here.

    ``typer.rich_utils`` imports ``rich.markdown`` (for markup mode "markdown"; ours is
    "rich") and ``rich.traceback`` (for pretty exceptions; ours are off) at module level:
    about 40 ms of ``k8smcp --help``, a third of it. While it imports, stand-ins take their
    place that load the real class on first use, so nothing else ever sees them.
    """
    import types

    if "typer.rich_utils" in sys.modules:
        return
    standins = {}
    for module, name in (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback")):
        if module not in sys.modules:
            standins[module] = types.ModuleType(module)
            setattr(standins[module], name, _Deferred(name, (), {"target": (module, name)}))
    sys.modules.update(standins)
    try:
        import typer.rich_utils  # noqa: F401
    finally:
        for module, standin in standins.items():
            if sys.modules.get(module) is standin:
                del sys.modules[module]


class _Deferred(type):
    """A class that imports ``target`` (module, name) when it is first called or read."""

    target: tuple[str, str]

    def _real(cls) -> Any:
        import importlib

        module, name = cls.target
        return getattr(importlib.import_module(module), name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        return getattr(cls._real(), attr)


def load_help_renderer(args: list[str]) -> None:
    """Import Typer's help renderer now if ``args`` will print help (see ``__main__``)."""
    if not args or "--help" in args:
        _load_help_renderer()
