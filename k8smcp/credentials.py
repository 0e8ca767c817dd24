"""Client-side credentials for ``k8smcp call``: a self-contained kubeconfig for one context.

A server at server level reads no files and runs no plugins for a caller, so before
``call`` sends a kubeconfig it makes one that needs neither, on the user's own machine:

- only the chosen context, its cluster and its user (no other contexts, users, clusters,
  preferences or top-level extensions);
- files that fields name are read here and sent inline: ``certificate-authority`` as
  ``certificate-authority-data``, ``client-certificate``/``client-key`` as their ``-data``
  forms, ``tokenFile`` as ``token``;
- an ``exec`` plugin runs here, as kubectl runs it (the client.authentication.k8s.io
  ExecCredential protocol: ``apiVersion``, ``interactiveMode``, ``provideClusterInfo``
  through ``KUBERNETES_EXEC_INFO``, ``env``), and the token or client certificate it
  returns replaces it. A credential with an ``expirationTimestamp`` is kept in a private
  cache directory (0700, files 0600) until shortly before it expires, so a script making
  100 calls runs the plugin once. The cache key is the plugin's definition, the cluster
  it is told about and the variables that pick a cloud identity (``AWS_PROFILE`` ...).

``auth-provider`` entries are sent as they are (the server's policy decides about them).
Nothing here logs or prints a credential; errors name the field or plugin, not values.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from k8smcp.errors import KubeconfigError
from k8smcp.kubeconfig import Kubeconfig, named

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 300.0  # seconds; an interactive login may take a while
# A cached credential is used only while it stays valid this much longer: the server still
# has to start kubectl and reach the API server with it.
EXPIRY_MARGIN = timedelta(seconds=10)
_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec"
# Variables that choose whose credential a cloud plugin mints (AWS_PROFILE, a gcloud
# configuration, an Azure tenant...): part of the cache key, so switching them mints anew.
_IDENTITY_ENV = frozenset({"HOME", "USER", "KUBECONFIG"})
_IDENTITY_PREFIXES = (
    "AWS_",
    "AZURE_",
    "AAD_",
    "ARM_",
    "GOOGLE_",
    "CLOUDSDK_",
    "GCE_",
    "KUBELOGIN_",
    "OCI_",
    "IBMCLOUD_",
    "DIGITALOCEAN_",
)
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}
_USER_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}


def cache_dir(home: Path, xdg_cache_home: str | None) -> Path:
    """Where minted credentials are cached: ``$XDG_CACHE_HOME/k8smcp/credentials``."""
    base = Path(xdg_cache_home) if xdg_cache_home else home / ".cache"
    return base / "k8smcp" / "credentials"


def exec_spec(found: Kubeconfig) -> dict[str, Any] | None:
    """The exec plugin of the context's user, or None when it has none."""
    ctx = (named(found.data["contexts"], found.context) or {}).get("context") or {}
    user = (named(found.data["users"], ctx.get("user")) or {}).get("user") or {}
    spec = user.get("exec") if isinstance(user, dict) else None
    return spec if isinstance(spec, dict) else None


def self_contained(
    found: Kubeconfig,
    *,
    cache: Path | None,
    interactive: bool | None = None,
    run_plugin: Callable[[dict[str, Any], dict[str, Any] | None, bool], dict[str, Any]]
    | None = None,
) -> Kubeconfig:
    """``found`` reduced to its context, with files and exec plugins resolved here.

    Args:
        found: the local kubeconfig, its context already chosen.
        cache: the credential cache directory (None: no caching).
        interactive: whether a plugin may prompt (default: standard input is a terminal).
        run_plugin: runs one plugin (spec, cluster info, interactive) and returns its
            ExecCredential ``status``; the default starts the plugin's process.

    Raises:
        KubeconfigError: a named file cannot be read, or a plugin failed.
    """
    data = found.data
    ctx_entry = named(data["contexts"], found.context) or {}
    ctx = dict(ctx_entry.get("context") or {})
    cluster_entry = named(data["clusters"], str(ctx.get("cluster"))) or {}
    cluster = _inline_files(dict(cluster_entry.get("cluster") or {}), _CLUSTER_FILES, "cluster")
    users = []
    user_name = ctx.get("user")
    user_entry = named(data["users"], user_name) if isinstance(user_name, str) else None
    if user_entry is not None:
        user = _inline_files(dict(user_entry.get("user") or {}), _USER_FILES, "user")
        user = _inline_token_file(user)
        spec = user.get("exec")
        if isinstance(spec, dict):
            if interactive is None:
                interactive = sys.stdin.isatty()
            status = mint(
                spec,
                _cluster_info(cluster) if spec.get("provideClusterInfo") else None,
                cache=cache,
                interactive=interactive,
                run_plugin=run_plugin or run_exec_plugin,
            )
            user = _with_credential(user, status)
        users.append({"name": user_entry["name"], "user": user})
    reduced = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_entry.get("name"), "cluster": cluster}],
        "users": users,
        "contexts": [{"name": found.context, "context": ctx}],
        "current-context": found.context,
    }
    return Kubeconfig(data=reduced, context=found.context)


def mint(
    spec: dict[str, Any],
    cluster: dict[str, Any] | None,
    *,
    cache: Path | None,
    interactive: bool,
    run_plugin: Callable[[dict[str, Any], dict[str, Any] | None, bool], dict[str, Any]],
) -> dict[str, Any]:
    """The ExecCredential status for ``spec``: from the cache while valid, else minted."""
    import hashlib

    identity = {
        k: v
        for k, v in os.environ.items()
        if k in _IDENTITY_ENV or k.startswith(_IDENTITY_PREFIXES)
    }
    key = hashlib.sha256(
        json.dumps([spec, cluster, identity], sort_keys=True, default=str).encode()
    ).hexdigest()[:40]
    path = cache / f"{key}.json" if cache is not None else None
    if path is not None:
        cached = _read_cached(path)
        if cached is not None:
            return cached
    status = run_plugin(spec, cluster, interactive)
    if path is not None and _expiry(status) is not None:
        _write_cached(path, status)
    return status


def run_exec_plugin(
    spec: dict[str, Any], cluster: dict[str, Any] | None, interactive: bool
) -> dict[str, Any]:
    """Run an exec plugin as kubectl does and return the ``status`` it printed."""
    import shutil
    import subprocess

    command = spec.get("command")
    name = os.path.basename(command) if isinstance(command, str) else "?"
    api_version = spec.get("apiVersion")
    if not isinstance(command, str) or not command:
        raise KubeconfigError("the user's exec plugin has no command")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigError(
            f"exec plugin {name!r}: apiVersion {api_version!r} is not supported "
            f"(use {' or '.join(EXEC_API_VERSIONS)})"
        )
    mode = spec.get("interactiveMode")
    if mode is None:
        if api_version.endswith("/v1"):
            raise KubeconfigError(f"exec plugin {name!r}: interactiveMode is required for v1")
        mode = "IfAvailable"
    if mode not in ("Never", "IfAvailable", "Always"):
        raise KubeconfigError(f"exec plugin {name!r}: interactiveMode {mode!r} is not valid")
    if mode == "Always" and not interactive:
        raise KubeconfigError(
            f"exec plugin {name!r} needs a terminal (interactiveMode Always): run k8smcp call "
            "from a terminal, without stdin redirected"
        )
    interactive = interactive and mode != "Never"
    info: dict[str, Any] = {"interactive": interactive}
    if cluster is not None:
        info["cluster"] = cluster
    env = dict(os.environ)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": info}
    )
    for item in spec.get("env") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            env[item["name"]] = str(item.get("value", ""))
    args = [str(a) for a in spec.get("args") or []]
    executable = shutil.which(command, path=env.get("PATH")) if "/" not in command else command
    hint = spec.get("installHint")
    if executable is None:
        detail = f": {hint.strip()}" if isinstance(hint, str) and hint.strip() else ""
        raise KubeconfigError(f"exec plugin {command!r} is not installed here{detail}")
    try:
        done = subprocess.run(
            [executable, *args],
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # the plugin's prompts and messages reach the user, as with kubectl
            env=env,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise KubeconfigError(f"exec plugin {command!r} is not installed here") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KubeconfigError(f"exec plugin {name!r} could not run: {type(exc).__name__}") from exc
    if done.returncode != 0:
        raise KubeconfigError(f"exec plugin {name!r} failed with exit code {done.returncode}")
    return _parse_credential(done.stdout, api_version, name)


def _parse_credential(out: bytes, api_version: str, name: str) -> dict[str, Any]:
    try:
        cred = json.loads(out)
    except ValueError:
        raise KubeconfigError(f"exec plugin {name!r} printed no ExecCredential JSON") from None
    if not isinstance(cred, dict) or cred.get("kind") != "ExecCredential":
        raise KubeconfigError(f"exec plugin {name!r} printed no ExecCredential JSON")
    if cred.get("apiVersion") != api_version:
        raise KubeconfigError(
            f"exec plugin {name!r} answered with apiVersion {cred.get('apiVersion')!r}, "
            f"not {api_version!r}"
        )
    status = cred.get("status")
    if not isinstance(status, dict):
        raise KubeconfigError(f"exec plugin {name!r} returned no status")
    has_token = isinstance(status.get("token"), str) and status["token"]
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if bool(cert) != bool(key):
        raise KubeconfigError(
            f"exec plugin {name!r} returned only one of clientCertificateData and clientKeyData"
        )
    if not has_token and not cert:
        raise KubeconfigError(f"exec plugin {name!r} returned neither a token nor a certificate")
    if "expirationTimestamp" in status and _expiry(status) is None:
        raise KubeconfigError(f"exec plugin {name!r}: expirationTimestamp is not RFC 3339")
    return status


def _with_credential(user: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """The user entry with the plugin replaced by what it returned."""
    user = {k: v for k, v in user.items() if k != "exec"}
    if status.get("clientCertificateData"):
        for field in ("client-certificate", "client-key"):
            user.pop(field, None)
        user["client-certificate-data"] = _b64(str(status["clientCertificateData"]).encode())
        user["client-key-data"] = _b64(str(status["clientKeyData"]).encode())
    if status.get("token"):
        user.pop("tokenFile", None)
        user["token"] = str(status["token"])
    return user


def _cluster_info(cluster: dict[str, Any]) -> dict[str, Any]:
    """The ``spec.cluster`` of KUBERNETES_EXEC_INFO (provideClusterInfo), from the cluster."""
    info: dict[str, Any] = {}
    for key in (
        "server",
        "tls-server-name",
        "insecure-skip-tls-verify",
        "certificate-authority-data",
        "proxy-url",
        "disable-compression",
    ):
        if cluster.get(key) not in (None, ""):
            info[key] = cluster[key]
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == _CLUSTER_EXTENSION:
            info["config"] = ext.get("extension")
    return info


def _inline_files(section: dict[str, Any], fields: dict[str, str], what: str) -> dict[str, Any]:
    for field, inline in fields.items():
        path = section.pop(field, None)
        if path in (None, ""):
            continue
        if not section.get(inline):  # kubectl prefers the -data form when both are set
            section[inline] = _b64(_read(str(path), what, field))
    return section


def _inline_token_file(user: dict[str, Any]) -> dict[str, Any]:
    path = user.pop("tokenFile", None)
    if path not in (None, "") and not user.get("token"):  # kubectl: token wins
        user["token"] = _read(str(path), "user", "tokenFile").decode().strip()
    return user


def _read(path: str, what: str, field: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise KubeconfigError(
            f"the kubeconfig's {what} names a file in {field} that cannot be read: {path} "
            f"({exc.strerror})"
        ) from exc


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _expiry(status: dict[str, Any]) -> datetime | None:
    stamp = status.get("expirationTimestamp")
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _read_cached(path: Path) -> dict[str, Any] | None:
    """A cached status that is still valid, or None (missing, foreign, stale, unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None  # not ours alone: never trust it
        try:
            status = json.loads(file.read())
        except ValueError:
            return None
    expiry = _expiry(status) if isinstance(status, dict) else None
    if expiry is None or datetime.now(UTC) + EXPIRY_MARGIN >= expiry:
        return None
    return status if isinstance(status, dict) else None


def _write_cached(path: Path, status: dict[str, Any]) -> None:
    """Keep ``status`` in a 0600 file of a 0700 directory; a failure only costs a re-mint."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(status, file)
        os.replace(temp, path)
    except OSError:
        return
