"""Settings: built once at the edge from typed Options, passed down, never changed.

A command's options (flags backed by K8SMCP_* variables) arrive as an ``Options`` value;
``build_settings`` turns them into ``Settings``: it parses the comma-separated lists, reads
the token file, applies the rule that a server listening beyond loopback needs a token,
finds the local kubeconfig, picks the discovery-cache root and the children's base
environment. The CLI only forwards options here, as uvicorn's CLI forwards to its Config.

This module is the only reader of the process environment (``environ``). The child
processes k8smcp spawns never see that environment whole: ``child_env_base`` picks the
few variables a CLI legitimately needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from k8smcp.kubeconfig import Kubeconfig
    from k8smcp.policy import Policy

Mode = Literal["local", "server"]

DEFAULT_URL = "http://127.0.0.1:9096/mcp"  # where `k8smcp call` finds a server
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9096
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_TIMEOUT = 600.0
DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
DEFAULT_MAX_CONCURRENCY = 16
DEFAULT_MAX_KUBECONFIG_BYTES = 256 * 1024
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# Longer than the idle timeout of the clients and proxies in front (httpx 5 s, ALB and
# nginx 60 s), so they always close an idle connection first: a server that closes it
# while a client reuses it makes that client's request fail (seen under load at 5 s).
DEFAULT_KEEP_ALIVE_TIMEOUT = 75
DEFAULT_QUEUE_TIMEOUT = 30.0
# The answer budget of MCP callers (k8smcp.budget says why these numbers).
DEFAULT_OUTPUT_BUDGET = 24_000
DEFAULT_MAX_OUTPUT_BUDGET = 64_000

# Variables a child may inherit from the server: what a CLI needs to find binaries,
# speak the right locale, reach the network through the operator's proxy and trust the
# operator's CA bundle. Nothing that carries an identity.
CHILD_ENV_ALLOWLIST = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)

# The Go garbage collector's target for children (kubectl, helm, istioctl and argocd are
# Go programs). Go's default, 100, collects several times while kubectl merely starts;
# 200 takes a `get` 10-20 % less CPU for about 12 MB more memory at the peak of a 2 MB
# listing (bench/README.md). An operator's own GOGC wins when passed with --pass-env GOGC.
CHILD_GOGC = "200"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What the operator gave a command, as typed (comma-separated lists still as text).

    Every field is one option of the ``k8smcp`` command (``--max-timeout`` for
    ``max_timeout``), backed by a ``K8SMCP_<NAME>`` variable unless the CLI says otherwise.
    """

    # the kubeconfig
    kubeconfig_b64: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    max_kubeconfig_bytes: int = DEFAULT_MAX_KUBECONFIG_BYTES
    # limits
    timeout: float = DEFAULT_TIMEOUT
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    output_budget: int = DEFAULT_OUTPUT_BUDGET
    max_output_budget: int = DEFAULT_MAX_OUTPUT_BUDGET
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    discovery_cache: bool = True
    cache_dir: Path | None = None
    pass_env: str = ""
    # policy (None: the level's default)
    read_only: bool = False
    allowed_exec_plugins: str = ""
    allowed_servers: str = ""
    denied_servers: str = ""
    allow_impersonation: bool | None = None
    allow_local_files: bool | None = None
    allow_registry_login: bool | None = None
    allow_urls: bool = True
    redact_secrets: bool | None = None
    # Landlock confinement and the egress proxy (k8smcp.confine); None: on for serve
    confine: bool | None = None
    # tool name -> binary path or name (--<tool>-bin / K8SMCP_<TOOL>_BIN)
    binaries: Mapping[str, str] = field(default_factory=dict)
    # serve
    host: str = DEFAULT_HOST
    allow_default_kubeconfig: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    auth_token: str | None = None
    auth_token_file: Path | None = None
    insecure_no_auth: bool = False
    allowed_hosts: str = ""
    allowed_origins: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a k8smcp process is configured with. Immutable once built."""

    host: str = DEFAULT_HOST
    default_timeout: float = DEFAULT_TIMEOUT
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    # bytes of stdout an MCP answer shows by default, and the most a call may ask for
    output_budget: int = DEFAULT_OUTPUT_BUDGET
    max_output_budget: int = DEFAULT_MAX_OUTPUT_BUDGET
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_kubeconfig_bytes: int = DEFAULT_MAX_KUBECONFIG_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # tool name -> binary path or name given by --<tool>-bin / K8SMCP_<TOOL>_BIN
    binaries: Mapping[str, str] = field(default_factory=dict)
    # the variables every child starts from (child_env_base), and the --pass-env names
    child_env: Mapping[str, str] = field(default_factory=lambda: child_env_base(()))
    pass_env: tuple[str, ...] = ()
    # server mode: use default_kubeconfig for requests that send none
    allow_default_kubeconfig: bool = False
    # the kubeconfig found at launch (flag, env or ~/.kube/config); None if there is none
    default_kubeconfig: Kubeconfig | None = None
    # what callers may do (k8smcp.policy); the local level unless built otherwise
    policy: Policy = field(default_factory=lambda: _policy("local", Options()))
    # seconds a call waits for a free execution slot before a 429 / BusyError
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    # HTTP: bearer tokens (empty: no auth), Host and Origin allowlists
    auth_tokens: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # the private directory of kubectl discovery caches shared by calls to the same
    # cluster identity; None: each call keeps its own
    cache_root: Path | None = None
    # confine every child (k8smcp.confine) and carry its TCP through the egress proxy
    confine: bool = False

    @property
    def mode(self) -> Mode:
        """``server`` for strangers' requests (serve), ``local`` for the user's own."""
        return self.policy.level


def build_settings(mode: Mode, options: Options) -> Settings:
    """The Settings of a command run at ``mode`` with ``options``.

    Raises:
        UsageError: a server would listen beyond loopback without authentication, or the
            token file cannot be read.
        KubeconfigError: the local kubeconfig (local level, or a server allowed to use its
            own) cannot be read.
        UsageError: confinement is on (serve's default) and the kernel lacks Landlock ABI 4.
    """
    tokens = _tokens(options) if mode == "server" else ()
    if mode == "server" and not tokens and not options.insecure_no_auth:
        if not is_loopback(options.host):
            from k8smcp.errors import UsageError

            raise UsageError(
                f"refusing to listen on {options.host} without authentication: set "
                "K8SMCP_AUTH_TOKEN or K8SMCP_AUTH_TOKEN_FILE, or pass --insecure-no-auth "
                "when a proxy in front of k8smcp authenticates"
            )
    default = None
    # A server reads no kubeconfig of its own unless the operator allows its use.
    if mode == "local" or options.allow_default_kubeconfig:
        default = find_local_kubeconfig(
            b64=options.kubeconfig_b64,
            path=options.kubeconfig,
            context=options.context,
            max_bytes=options.max_kubeconfig_bytes,
        )
    confine = mode == "server" if options.confine is None else options.confine
    if confine:
        from k8smcp.confine import require

        require()  # or a UsageError naming what the kernel lacks and --no-confine
    pass_env = csv(options.pass_env)
    return Settings(
        **{name: getattr(options, name) for name in _SAME_IN_BOTH},
        default_timeout=options.timeout,
        child_env=child_env_base(pass_env),
        pass_env=pass_env,
        default_kubeconfig=default,
        policy=_policy(mode, options),
        auth_tokens=tokens,
        allowed_hosts=csv(options.allowed_hosts),
        allowed_origins=csv(options.allowed_origins),
        cache_root=discovery_cache_root(options.cache_dir) if options.discovery_cache else None,
        confine=confine,
    )


# what Settings takes from Options as it is: the fields of the same name and type
_SAME_IN_BOTH = (
    "host",
    "max_timeout",
    "max_output_bytes",
    "output_budget",
    "max_output_budget",
    "max_concurrency",
    "max_kubeconfig_bytes",
    "max_body_bytes",
    "queue_timeout",
    "binaries",
    "allow_default_kubeconfig",
)


def _policy(mode: Mode, options: Options) -> Policy:
    """The Policy of ``mode``, with the operator's options applied where they were given."""
    from k8smcp.policy import Policy

    overrides: dict[str, object] = {"read_only": options.read_only}
    if options.allowed_servers:
        overrides["allowed_servers"] = csv(options.allowed_servers)
    if options.denied_servers:
        overrides["denied_servers"] = csv(options.denied_servers)
    if options.allowed_exec_plugins:
        overrides["allowed_exec_plugins"] = frozenset(csv(options.allowed_exec_plugins))
    if not options.allow_urls:
        overrides["allow_urls"] = False
    if mode == "server" and not is_loopback(options.host):
        overrides["allow_loopback"] = False  # callers must not reach this host's loopback
    # redact_secrets: Secret values replaced in output (the policy refuses what it can't read)
    loosened = (
        "allow_impersonation",
        "allow_local_files",
        "allow_registry_login",
        "redact_secrets",
    )
    for name in loosened:
        value = getattr(options, name)
        if value is not None:
            overrides[name] = value
    return Policy.server(**overrides) if mode == "server" else Policy.local(**overrides)


def _tokens(options: Options) -> tuple[str, ...]:
    tokens = list(csv(options.auth_token))
    file = options.auth_token_file
    if file is not None:
        try:
            tokens += [line.strip() for line in file.read_text().splitlines() if line.strip()]
        except OSError as exc:
            from k8smcp.errors import UsageError

            raise UsageError(f"cannot read the auth token file {file}: {exc.strerror}") from exc
    return tuple(tokens)


def find_local_kubeconfig(
    *,
    b64: str | None = None,
    path: Path | str | None = None,
    context: str | None = None,
    max_bytes: int = DEFAULT_MAX_KUBECONFIG_BYTES,
) -> Kubeconfig | None:
    """The local user's kubeconfig, as kubectl finds it; None when there is none.

    Order: base64 text, an explicit path, ``$KUBECONFIG``, then ``~/.kube/config``
    (``k8smcp.kubeconfig.load_local`` says how they are read and merged).
    """
    from k8smcp import kubeconfig as kc

    return kc.load_local(
        b64=b64,
        path=str(path) if path else None,
        env_kubeconfig=environ("KUBECONFIG"),
        home=Path.home(),
        context=context,
        max_bytes=max_bytes,
    )


def discovery_cache_root(cache_dir: Path | str | None = None) -> Path | None:
    """The directory of shared discovery caches: ours alone (0700), or None (disabled).

    Default: ``$XDG_CACHE_HOME/k8smcp/discovery`` (``~/.cache/...``), or under the temp
    dir when home is read-only (a container). A directory someone else owns or can write
    to is never used: a planted cache would change what kubectl believes the API is.
    """
    import logging
    import tempfile

    logger = logging.getLogger("k8smcp.config")
    if cache_dir:
        candidates = [Path(cache_dir)]
    else:
        xdg = environ("XDG_CACHE_HOME")
        base = Path(xdg) if xdg else Path.home() / ".cache"
        candidates = [
            base / "k8smcp" / "discovery",
            Path(tempfile.gettempdir()) / f"k8smcp-cache-{os.getuid()}",
        ]
    for root in candidates:
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = root.stat()
        except OSError:
            continue
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            logger.warning("discovery cache off: %s is not private to this user (0700)", root)
            return None
        return root
    logger.warning("discovery cache off: cannot create %s", candidates[0])
    return None


def child_env_base(pass_env: tuple[str, ...]) -> dict[str, str]:
    """The variables every child starts from: the allowlist plus --pass-env names."""
    names = (*CHILD_ENV_ALLOWLIST, *pass_env)
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("GOGC", CHILD_GOGC)
    return env


def csv(text: str | None) -> tuple[str, ...]:
    """The non-empty, stripped parts of a comma-separated list."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine's loopback."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def environ(name: str) -> str | None:
    """One variable of the process environment (for the few settings read outside Typer)."""
    return os.environ.get(name)
