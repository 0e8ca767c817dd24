"""Settings: built once at the edge (CLI flags backed by K8SMCP_* variables), passed down.

This module and the CLI are the only readers of the process environment. The child
processes k8smcp spawns never see that environment whole: `child_env_base` picks the
few variables a CLI legitimately needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from k8smcp.kubeconfig import Kubeconfig
    from k8smcp.policy import Policy

Mode = Literal["local", "server"]

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


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a k8smcp process is configured with. Immutable once built."""

    mode: Mode = "local"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    default_timeout: float = DEFAULT_TIMEOUT
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_kubeconfig_bytes: int = DEFAULT_MAX_KUBECONFIG_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # tool name -> binary path or name given by --<tool>-bin / K8SMCP_<TOOL>_BIN
    binaries: dict[str, str] = field(default_factory=dict)
    # extra variable names children inherit (--pass-env / K8SMCP_PASS_ENV)
    pass_env: tuple[str, ...] = ()
    # server mode: use default_kubeconfig for requests that send none
    allow_default_kubeconfig: bool = False
    # the kubeconfig found at launch (flag, env or ~/.kube/config); None if there is none
    default_kubeconfig: Kubeconfig | None = None
    log_level: str = "INFO"
    # what callers may do (k8smcp.policy); the local level unless built otherwise
    policy: Policy = field(default_factory=lambda: _local_policy())
    # replace Secret values in kubectl/helm output (on by default for `serve`)
    redact_secrets: bool = False
    # seconds a call waits for a free execution slot before a 429 / BusyError
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    # HTTP: bearer tokens (empty: no auth), Host and Origin allowlists
    auth_tokens: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # kubectl's discovery cache, shared by calls to the same cluster identity
    discovery_cache: bool = True
    cache_dir: str | None = None  # default: <tmp>/k8smcp-cache-<uid>


def _local_policy() -> Policy:
    from k8smcp.policy import Policy

    return Policy.local()


def child_env_base(settings: Settings) -> dict[str, str]:
    """The variables every child starts from: the allowlist plus --pass-env names."""
    names = (*CHILD_ENV_ALLOWLIST, *settings.pass_env)
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("GOGC", CHILD_GOGC)
    return env


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
