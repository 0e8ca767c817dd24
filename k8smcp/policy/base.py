"""The Policy value, the rule ids and the one way a policy check refuses.

Every refusal is a PolicyDeniedError whose message names where the problem is (a
kubeconfig field path or a flag), the rule id, and what to do instead, and whose
``rule`` extra carries the id for machines. No message ever quotes a credential.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from k8smcp.errors import PolicyDeniedError

Level = Literal["local", "server"]
Resolver = Callable[[str], Sequence[str]]

# Stable rule ids: they appear in error bodies, audit lines and the test corpus.
RULES: dict[str, str] = {
    "kubeconfig-exec": "kubeconfig exec or auth-provider plugin not on the allowlist",
    "kubeconfig-file": "kubeconfig field that names a file on the server",
    "address": "server address refused by the address policy",
    "url": "URL refused (scheme, shape, or URLs disabled)",
    "impersonation": "impersonation (--as and friends) is not allowed",
    "flag-target": "flag that changes the cluster, credentials or client config",
    "flag-binary": "flag that runs another program",
    "flag-unknown": "flag before the command that is not a global flag",
    "dash-name": "a value that starts with '-' where a value was expected",
    "verb-unknown": "command the tool does not have (it would run a plugin)",
    "verb-denied": "command refused at server level",
    "interactive": "interactive or editor command",
    "raw-config": "kubeconfig view with credentials",
    "file-path": "file or directory on the server",
    "registry-login": "helm registry login",
    "argocd-core": "argocd outside --core mode",
    "shell": "shell syntax; no shell runs",
    "filter": "pipe stage that is not an allowed filter, or an option reaching beyond its input",
    "read-only": "command that can change the cluster, in read-only mode",
    "secret-output": "output format that would print Secret values redaction cannot find",
    "verbosity": "client log level that prints API request and response bodies",
}


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to, through the system resolver (getaddrinfo).

    Raises:
        OSError: the name does not resolve.
    """
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True, slots=True)
class Policy:
    """What callers may do. Build with ``Policy.local()`` or ``Policy.server()``.

    The field defaults are the server level's: a bare ``Policy()`` is the safe one,
    except that loopback passes until ``serve`` learns it listens beyond loopback.
    """

    level: Level = "server"
    # exec plugin command names (and auth-provider names) a kubeconfig may use.
    # Server level: only these. Local level: empty means any, non-empty means only these.
    allowed_exec_plugins: frozenset[str] = frozenset()
    # hostnames ("api.example.com", "*.example.com") or CIDRs/IPs; non-empty: only these
    allowed_servers: tuple[str, ...] = ()
    # hostnames or CIDRs/IPs always refused
    denied_servers: tuple[str, ...] = ()
    read_only: bool = False
    allow_impersonation: bool = False
    allow_registry_login: bool = False
    allow_local_files: bool = False
    allow_urls: bool = True
    # loopback addresses pass the address policy: the CLI's own machine. Turn it off when
    # the server listens beyond loopback: a caller must not reach the services of the
    # server's own host or pod.
    allow_loopback: bool = True
    # Secret values are redacted from output, so commands that print them where the
    # redaction cannot find them (rule ``secret-output``) or print response bodies in
    # their logs (rule ``verbosity``) are refused.
    redact_secrets: bool = True
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    @classmethod
    def local(cls, **overrides: Any) -> Policy:
        """The user's own machine: everything is allowed unless ``overrides`` tighten it."""
        base = cls(
            level="local",
            allow_impersonation=True,
            allow_registry_login=True,
            allow_local_files=True,
            redact_secrets=False,
        )
        return replace(base, **overrides)

    @classmethod
    def server(cls, **overrides: Any) -> Policy:
        """Strangers' requests: every rule applies unless ``overrides`` loosen one."""
        return replace(cls(level="server"), **overrides)

    @property
    def is_server(self) -> bool:
        """True at server level."""
        return self.level == "server"


def deny(rule: str, where: str, problem: str, instead: str) -> PolicyDeniedError:
    """The error for a refusal: ``<where>: <problem> (rule <rule>); <instead>``.

    ``where`` is a field path or a flag, never a value; ``problem`` and ``instead`` must
    not quote credentials either.
    """
    assert rule in RULES, rule
    message = f"{where}: {problem} (rule {rule})"
    if instead:
        message += f"; {instead}"
    return PolicyDeniedError(message, rule=rule)


def shown(text: str, limit: int = 40) -> str:
    """A short, printable rendering of a name for a message (verbs, hosts)."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
