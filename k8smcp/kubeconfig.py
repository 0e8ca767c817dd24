"""Turn the kubeconfig a caller sends into one we have checked, and render it for a child.

Every kubeconfig is decoded, size-checked and parsed here, whichever front end it came
through. Messages name what is wrong and never echo the content: a kubeconfig carries
credentials.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8smcp import speedups
from k8smcp.errors import KubeconfigError, KubeconfigTooLargeError

speedups.import_yaml()  # the first import of PyYAML in run and call: see speedups
import yaml  # noqa: E402

try:  # the C loader is ~10x faster; both are the safe loader
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _SafeLoader(_BaseLoader):
    """The safe loader, without YAML 1.1 timestamps: a date stays a string, as in Go."""


_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_JSON_SCALARS = (str, int, float, bool, type(None))

_WHITESPACE = re.compile(rb"\s+")
MAX_DEPTH = 32  # kubeconfigs nest five or six levels deep
# Fields whose value is a file path, resolved by kubectl against the kubeconfig's directory.
_PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass(frozen=True, slots=True)
class Kubeconfig:
    """A parsed, validated kubeconfig and the context that calls will use."""

    data: dict[str, Any]
    context: str

    @property
    def cluster_name(self) -> str | None:
        """The name of the cluster the context points at."""
        ctx = named(self.data.get("contexts"), self.context) or {}
        name = (ctx.get("context") or {}).get("cluster")
        return name if isinstance(name, str) else None

    @property
    def server(self) -> str | None:
        """The API server URL of the context's cluster (for logs and caches; not secret)."""
        cluster = named(self.data.get("clusters"), self.cluster_name or "") or {}
        server = (cluster.get("cluster") or {}).get("server")
        return server if isinstance(server, str) else None

    def cluster_identity(self) -> str | None:
        """A key naming the API server this kubeconfig talks to and how it trusts it.

        Two kubeconfigs with the same key reach the same server through the same CA, so
        they may share kubectl's discovery cache (API groups and resources, never
        credentials). None when the server's identity is not checked (TLS verification
        off): then nothing is shared.
        """
        cluster = named(self.data.get("clusters"), self.cluster_name or "") or {}
        inner = cluster.get("cluster") or {}
        if not isinstance(inner, dict) or not self.server or inner.get("insecure-skip-tls-verify"):
            return None
        fields = [
            self.server,
            inner.get("certificate-authority-data"),
            inner.get("certificate-authority"),
            inner.get("tls-server-name"),
            inner.get("proxy-url"),
        ]
        return hashlib.sha256(json.dumps(fields, default=str).encode()).hexdigest()[:32]

    def with_context(self, context: str | None) -> Kubeconfig:
        """The same kubeconfig using ``context`` (validated) instead; self when None."""
        return self if context is None or context == self.context else _validate(self.data, context)

    def render(self, namespace: str | None = None) -> bytes:
        """The bytes written for the child: what was validated, with its context current.

        JSON is valid YAML, and writing our own parse of the input (rather than the input)
        means the child reads exactly what was checked. ``namespace`` becomes the
        context's default namespace, which every CLI honours and an explicit flag overrides.
        """
        data = dict(self.data)
        data["current-context"] = self.context
        if namespace is not None:
            contexts = []
            for entry in data["contexts"]:
                if entry.get("name") == self.context:
                    inner = dict(entry.get("context") or {}, namespace=namespace)
                    entry = dict(entry, context=inner)
                contexts.append(entry)
            data["contexts"] = contexts
        return json.dumps(data, default=str).encode()


def decode_b64(text: str | bytes, *, max_bytes: int) -> bytes:
    """Decode a base64 kubeconfig, refusing anything over ``max_bytes`` before decoding.

    Whitespace and line breaks are tolerated (``base64`` wraps at 76 columns).
    """
    raw = text.encode() if isinstance(text, str) else text
    # Cheap bound first, so a 50 MB body is refused without being scanned.
    if len(raw) > 2 * max_bytes + 1024:
        raise _too_large(max_bytes)
    compact = _WHITESPACE.sub(b"", raw)
    if not compact:
        raise KubeconfigError("kubeconfig is empty")
    if len(compact) // 4 * 3 > max_bytes + 2:
        raise _too_large(max_bytes)
    try:
        decoded = binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise KubeconfigError(
            "kubeconfig is not valid base64 (standard alphabet, padded): "
            "encode the file with `base64 < config`"
        ) from exc
    if len(decoded) > max_bytes:
        raise _too_large(max_bytes)
    return decoded


def parse(raw: bytes, *, context: str | None = None, max_bytes: int) -> Kubeconfig:
    """Parse and validate kubeconfig bytes (YAML or JSON).

    Args:
        raw: the decoded kubeconfig.
        context: a context to use instead of the file's current-context.
        max_bytes: the size cap.

    Raises:
        KubeconfigError: naming what is wrong, never quoting the content.
    """
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        _check_shape(raw)
        data = yaml.load(raw, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"kubeconfig is not valid YAML{_where(exc)}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise KubeconfigError("kubeconfig is not valid YAML: not UTF-8 text") from exc
    _check_types(data)
    return _validate(data, context)


def _check_types(data: object) -> None:
    """Refuse what JSON cannot carry: keys that are not strings, ``!!binary``, dates.

    Go reads a kubeconfig as JSON, so these mean nothing to the CLI, and rendering them
    for the child would fail.
    """
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    at = _short(where) or "the top"
                    raise KubeconfigError(
                        f"kubeconfig has a key that is not a string at {at} "
                        f"(a YAML {type(key).__name__}): quote it"
                    )
                stack.append((f"{where}.{key}" if where else key, value))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(node))
        elif not isinstance(node, _JSON_SCALARS):
            raise KubeconfigError(
                f"kubeconfig field {_short(where)} holds a YAML {type(node).__name__}, which JSON "
                "cannot carry: give it as a string"
            )


def _check_shape(raw: bytes) -> None:
    """Refuse YAML aliases and deep nesting before building any object.

    An alias lets a 500-byte document expand to gigabytes once loaded or rendered
    ("billion laughs"); no kubeconfig needs one. Reading the event stream costs no
    more memory than the text itself.
    """
    depth = 0
    for event in yaml.parse(raw, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise KubeconfigError(
                "kubeconfig uses a YAML alias (*name): send it without anchors and aliases"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise KubeconfigError(f"kubeconfig nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def from_b64(text: str | bytes, *, context: str | None = None, max_bytes: int) -> Kubeconfig:
    """Decode, parse and validate a base64 kubeconfig."""
    return parse(decode_b64(text, max_bytes=max_bytes), context=context, max_bytes=max_bytes)


def load_local(
    *,
    b64: str | None,
    path: str | None,
    env_kubeconfig: str | None,
    home: Path,
    context: str | None = None,
    max_bytes: int,
) -> Kubeconfig | None:
    """Find the local user's kubeconfig, as ``k8smcp run`` and ``stdio`` do at launch.

    Order: base64 text, an explicit path, ``$KUBECONFIG`` (a path list, merged as kubectl
    merges it: the first file to set a name wins), then ``~/.kube/config``. Relative paths
    inside a file are made absolute against that file's directory, as kubectl resolves them.
    Returns None when the user has no kubeconfig at all.
    """
    if b64:
        return from_b64(b64, context=context, max_bytes=max_bytes)
    if path:
        paths = [Path(path).expanduser()]
        missing_ok = False
    elif env_kubeconfig:
        paths = [Path(p).expanduser() for p in env_kubeconfig.split(os.pathsep) if p]
        missing_ok = True
    else:
        paths = [home / ".kube" / "config"]
        missing_ok = True
    docs = []
    for file in paths:
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            if missing_ok:
                continue
            raise KubeconfigError(f"kubeconfig file {file} does not exist") from None
        except OSError as exc:
            raise KubeconfigError(f"kubeconfig file {file} cannot be read: {exc.strerror}") from exc
        if len(raw) > max_bytes:
            raise _too_large(max_bytes)
        try:
            doc = yaml.load(raw, Loader=_SafeLoader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise KubeconfigError(f"kubeconfig file {file} is not valid YAML{_where(exc)}") from exc
        if isinstance(doc, dict):
            _check_types(doc)
            docs.append(_absolutize(doc, file.resolve().parent))
        elif doc is not None:
            raise KubeconfigError(f"kubeconfig file {file} is not a kubeconfig: not a mapping")
    if not docs:
        return None
    return _validate(_merge(docs), context)


def _validate(data: object, context: str | None) -> Kubeconfig:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise KubeconfigError(f"not a kubeconfig: expected a YAML mapping, got {kind}")
    for key in ("clusters", "users", "contexts"):
        entries = data.get(key)
        if entries is None:
            raise KubeconfigError(f"not a kubeconfig: '{key}' is missing")
        if not isinstance(entries, list):
            raise KubeconfigError(f"not a kubeconfig: '{key}' must be a list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise KubeconfigError(f"not a kubeconfig: {key}[{index}] has no name")
    chosen = context or data.get("current-context")
    if not chosen:
        raise KubeconfigError(
            "kubeconfig has no current context: set current-context in it or pass a context"
        )
    if not isinstance(chosen, str):
        raise KubeconfigError("not a kubeconfig: current-context must be a string")
    entry = named(data["contexts"], chosen)
    if entry is None:
        names = ", ".join(sorted(str(c["name"]) for c in data["contexts"])) or "none"
        raise KubeconfigError(f"context {chosen!r} is not in the kubeconfig (contexts: {names})")
    ctx = entry.get("context")
    cluster = ctx.get("cluster") if isinstance(ctx, dict) else None
    if not isinstance(cluster, str) or named(data["clusters"], cluster) is None:
        raise KubeconfigError(f"context {chosen!r} names no cluster that the kubeconfig defines")
    return Kubeconfig(data=data, context=chosen)


def _short(where: str) -> str:
    return where if len(where) <= 80 else where[:77] + "..."


def named(entries: object, name: object) -> dict[str, Any] | None:
    """The entry of a kubeconfig list (``clusters``, ``users``, ``contexts``) called ``name``."""
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
    return None


def _merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    for doc in docs:
        for key in ("clusters", "users", "contexts"):
            for entry in doc.get(key) or []:
                if isinstance(entry, dict) and named(merged[key], entry.get("name", "")) is None:
                    merged[key].append(entry)
        for key, value in doc.items():
            if key not in ("clusters", "users", "contexts"):
                merged.setdefault(key, value)
    return merged


def _absolutize(doc: dict[str, Any], base: Path) -> dict[str, Any]:
    for section, fields in _PATH_FIELDS.items():
        inner_key = section[:-1]  # clusters -> cluster, users -> user
        for entry in doc.get(section) or []:
            inner = entry.get(inner_key) if isinstance(entry, dict) else None
            if not isinstance(inner, dict):
                continue
            for name in fields:
                value = inner.get(name)
                if isinstance(value, str) and value and not os.path.isabs(value):
                    inner[name] = str(base / Path(value).expanduser())
    return doc


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    return f" (line {mark.line + 1}, column {mark.column + 1})"


def _too_large(max_bytes: int) -> KubeconfigTooLargeError:
    return KubeconfigTooLargeError(
        f"kubeconfig is larger than {max_bytes} bytes (K8SMCP_MAX_KUBECONFIG_BYTES)"
    )
