"""Kubeconfig rules: no plugins that run programs, no server files, allowed addresses only.

Every cluster and user entry is checked, not only the current context's, because
``--context``, ``--cluster`` and ``--user`` may pick any of them. Field names are
compared case-insensitively (``TokenFile`` is refused like ``tokenFile``), so a decoder
that matches keys loosely cannot pick up a field we did not look at.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from k8smcp.policy.address import HTTP_SCHEMES, Lookups, check_url
from k8smcp.policy.base import Policy, deny, shown

# Fields whose value is a path on the host that runs the CLI.
_CLUSTER_FILES = ("certificate-authority",)
_USER_FILES = ("client-certificate", "client-key", "tokenfile")
_OIDC_FILES = ("idp-certificate-authority",)
_OIDC_URLS = ("idp-issuer-url",)
_IMPERSONATION = ("as", "as-uid", "as-groups", "as-user-extra")
_PROXY_SCHEMES = (*HTTP_SCHEMES, "socks5")

# Variables an exec plugin may not be given: they load code, move its PATH or point it
# at files on the server.
_EXEC_ENV_DENIED = frozenset(
    {
        "PATH",
        "HOME",
        "KUBECONFIG",
        "BASH_ENV",
        "ENV",
        "NODE_OPTIONS",
        "JAVA_TOOL_OPTIONS",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CLOUDSDK_CONFIG",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
_EXEC_ENV_DENIED_PREFIXES = ("LD_", "DYLD_", "PYTHON", "PERL", "RUBY", "GCONV", "GIT_")
_EXEC_ENV_DENIED_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_HOME", "_CONFIG", "_PROXY", "_URL")
_EXEC_ENV_DENIED_PARTS = ("ENDPOINT",)
# Plugins whose arguments we can pin: (the arguments they must start with, banned flag
# prefixes). Any allowed plugin's arguments must also not name paths or URLs to fetch
# (aws reads `file://` parameters, kubelogin takes certificate and cache paths).
_EXEC_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aws": (("eks", "get-token"), ("--endpoint-url", "--ca-bundle", "--cli-input")),
    "kubelogin": (("get-token",), ()),
}
_PATH_ARG = re.compile(r"(^|=)(/|~|\.\.?/)|^\.\.?$|://")


def check_kubeconfig(
    policy: Policy, data: dict[str, Any], *, lookups: Lookups | None = None
) -> None:
    """Refuse a kubeconfig (already parsed to a dict) that the policy forbids.

    Checks ``clusters[].cluster`` (files, ``server``, ``proxy-url``), that every
    context names a cluster with a server, and ``users[].user`` (files, ``exec``,
    ``auth-provider``, impersonation).

    Args:
        policy: the policy in force.
        data: the parsed kubeconfig.
        lookups: where to leave the address checks that need DNS (the caller resolves
            them and calls ``lookups.finish``); None resolves them here with
            ``policy.resolver``, which may block.

    Raises:
        PolicyDeniedError: naming the field path and the rule, never the value.
    """
    pending = lookups if lookups is not None else Lookups()
    _check(policy, data, pending)
    if lookups is None:
        pending.resolve(policy.resolver)


def _check(policy: Policy, data: dict[str, Any], lookups: Lookups) -> None:
    server = policy.is_server
    servers: dict[str, bool] = {}  # the clusters defined (each with a server, or refused)
    for where, cluster in _entries(data, "clusters", "cluster"):
        if server:
            _no_files(cluster, _CLUSTER_FILES, where, "certificate-authority-data")
        given = list(_fields(cluster, "server"))
        for key, value in given or [("server", None)]:
            if isinstance(value, str) and value.strip():
                url = value if "://" in value else f"https://{value}"
                check_url(policy, url, field=f"{where}.{key}", lookups=lookups)
            else:  # any empty spelling may be the one a decoder keeps
                _no_server(policy, f"{where}.{key}", lookups)
        servers[_name(data, where)] = True
        for key, value in _fields(cluster, "proxy-url"):
            if isinstance(value, str) and value:
                check_url(
                    policy, value, field=f"{where}.{key}", schemes=_PROXY_SCHEMES, lookups=lookups
                )
    for where, context in _entries(data, "contexts", "context"):
        name = next((v for _, v in _fields(context, "cluster") if isinstance(v, str)), "")
        if name not in servers:
            _no_server(policy, f"{where}.cluster", lookups)
    for where, user in _entries(data, "users", "user"):
        if server:
            _no_files(user, _USER_FILES, where, "the matching *-data field or token")
        if not policy.allow_impersonation:
            for key, value in _fields(user, *_IMPERSONATION):
                if value:
                    raise deny(
                        "impersonation",
                        f"{where}.{key}",
                        "impersonation is not allowed",
                        "send a kubeconfig for the identity itself "
                        "(the operator can set K8SMCP_ALLOW_IMPERSONATION)",
                    )
        for key, value in _fields(user, "exec"):
            if value is not None:
                _check_exec(policy, value, f"{where}.{key}")
        for key, value in _fields(user, "auth-provider"):
            if value is not None:
                _check_auth_provider(policy, value, f"{where}.{key}", lookups)


def _no_server(policy: Policy, where: str, lookups: Lookups) -> None:
    """A cluster without a server: kubectl and client-go then use http://localhost:8080."""
    if policy.is_server:
        raise deny(
            "address",
            where,
            "names no cluster with a server, so the CLI would fall back to "
            "http://localhost:8080 on this server",
            "give every cluster its server URL, and every context a cluster defined here",
        )
    check_url(policy, "http://localhost:8080", field=where, lookups=lookups)


def _name(data: dict[str, Any], where: str) -> str:
    """The name of the entry at ``where`` (``clusters[2].cluster``)."""
    section, _, rest = where.partition("[")
    entry = data[section][int(rest.partition("]")[0])]
    name = entry.get("name")
    return name if isinstance(name, str) else ""


def _entries(
    data: dict[str, Any], section: str, inner: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    entries = data.get(section)
    if not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        for key, value in _fields(entry, inner):
            if isinstance(value, dict):
                yield f"{section}[{index}].{key}", value


def _fields(mapping: dict[str, Any], *names: str) -> Iterator[tuple[str, Any]]:
    """The (key, value) pairs of ``mapping`` whose key is one of ``names``, any case."""
    wanted = {name.lower() for name in names}
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() in wanted:
            yield key, value


def _no_files(mapping: dict[str, Any], names: tuple[str, ...], where: str, instead: str) -> None:
    for key, value in _fields(mapping, *names):
        if value not in (None, ""):
            raise deny(
                "kubeconfig-file",
                f"{where}.{key}",
                "names a file on the server, which k8smcp never reads for a caller",
                f"put the content inline ({instead})",
            )


def _plugin_allowed(policy: Policy, name: str) -> bool:
    allowed = policy.allowed_exec_plugins
    if not policy.is_server and not allowed:
        return True
    return name in allowed


def _ambiguous(spec: dict[str, Any], where: str) -> None:
    """Refuse keys that differ only in case: decoders differ on which one wins."""
    seen: set[str] = set()
    for key in spec:
        lowered = str(key).lower()
        if lowered in seen:
            raise deny(
                "kubeconfig-exec",
                f"{where}.{shown(str(key))}",
                "is given twice (keys differing only in case)",
                "give each field once",
            )
        seen.add(lowered)


def _check_exec(policy: Policy, spec: object, where: str) -> None:
    allowed = ", ".join(sorted(policy.allowed_exec_plugins)) or "none"
    if isinstance(spec, dict):
        _ambiguous(spec, where)
    command = spec.get("command") if isinstance(spec, dict) else None
    if not isinstance(command, str) or not command:
        raise deny("kubeconfig-exec", where, "has no command", "use a token or client certificate")
    if not _plugin_allowed(policy, command):
        base = posixpath.basename(command)
        why = (
            f"runs {shown(command)!r}, which is not an allowed plugin"
            if base not in policy.allowed_exec_plugins
            else f"runs {shown(command)!r} by path; allowed plugins run by bare name only"
        )
        raise deny(
            "kubeconfig-exec",
            f"{where}.command",
            why,
            f"use an inline token or client certificate (allowed plugins: {allowed}; "
            "K8SMCP_ALLOWED_EXEC_PLUGINS)",
        )
    if not policy.is_server:
        return
    assert isinstance(spec, dict)
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise deny("kubeconfig-exec", f"{where}.args", "must be a list of strings", "")
    rule = _EXEC_ARGS.get(command)
    if rule is not None:
        prefix, banned = rule
        if tuple(args[: len(prefix)]) != prefix:
            raise deny(
                "kubeconfig-exec",
                f"{where}.args",
                f"{command} may only run as `{command} {' '.join(prefix)} ...`",
                "use the arguments the plugin's documentation gives for kubeconfigs",
            )
        for arg in args:
            if arg.startswith(banned):
                raise deny(
                    "kubeconfig-exec",
                    f"{where}.args",
                    f"argument {shown(arg.split('=', 1)[0])} is not allowed for {command}",
                    "drop it",
                )
    for index, arg in enumerate(args):
        if _PATH_ARG.search(arg):
            raise deny(
                "kubeconfig-exec",
                f"{where}.args[{index}]",
                "names a path or URL, which a plugin would read on the server",
                "give the plugin only names and options",
            )
    env = spec.get("env") or []
    if not isinstance(env, list):
        raise deny("kubeconfig-exec", f"{where}.env", "must be a list of name/value pairs", "")
    for index, item in enumerate(env):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or _env_denied(name):
            raise deny(
                "kubeconfig-exec",
                f"{where}.env[{index}]",
                f"variable {shown(str(name))!r} may not be set for a plugin "
                "(it loads code or names a path on the server)",
                "drop it",
            )


def _env_denied(name: str) -> bool:
    upper = name.upper()
    return (
        not name
        or upper in _EXEC_ENV_DENIED
        or upper.startswith(_EXEC_ENV_DENIED_PREFIXES)
        or upper.endswith(_EXEC_ENV_DENIED_SUFFIXES)
        or any(part in upper for part in _EXEC_ENV_DENIED_PARTS)
    )


def _check_auth_provider(policy: Policy, spec: object, where: str, lookups: Lookups) -> None:
    if isinstance(spec, dict):
        _ambiguous(spec, where)
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not _plugin_allowed(policy, name):
        allowed = ", ".join(sorted(policy.allowed_exec_plugins)) or "none"
        raise deny(
            "kubeconfig-exec",
            f"{where}.name" if isinstance(name, str) else where,
            f"auth-provider {shown(str(name))!r} is not allowed",
            f"use an inline token or client certificate (allowed: {allowed}; "
            "K8SMCP_ALLOWED_EXEC_PLUGINS)",
        )
    assert isinstance(spec, dict)
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        return
    for key, _value in _fields(config, "cmd-path", "cmd-args"):
        if policy.is_server:
            raise deny(
                "kubeconfig-exec",
                f"{where}.config.{key}",
                "runs a command",
                "use an inline token or client certificate",
            )
    if policy.is_server:
        _no_files(config, _OIDC_FILES, f"{where}.config", "idp-certificate-authority-data")
    for key, value in _fields(config, *_OIDC_URLS):
        if isinstance(value, str) and value:
            check_url(policy, value, field=f"{where}.config.{key}", lookups=lookups)
