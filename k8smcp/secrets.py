"""Secret values in command output: redact them by parsing, withhold what cannot be parsed.

Redaction keeps Secret values out of what a caller (usually a model) is shown; it is
data hygiene, not a boundary: whoever holds the kubeconfig can read the same Secrets
with their own kubectl. It runs after a command: ``redact_output(command, stdout)``
parses the output as JSON (one value or a stream of them, as ``-w -o json`` prints) or
as a YAML stream (``-o yaml``, ``helm get manifest``, ``helm template``, ``argocd app
manifests``) and replaces every value under ``data`` and ``stringData`` of each ``kind:
Secret``, at any depth (a ``List`` of mixed kinds, watch events, an API ``SecretList``),
with ``<redacted>`` (``k8smcp.redact.REDACTED``). Keys stay visible. A Secret's
``last-applied-configuration`` annotation (a JSON copy of it) is redacted the same way,
and so are the manifests inside a helm release (``helm status -o json``). Documents with
nothing to redact are returned byte for byte; a redacted JSON value is re-encoded with
the indentation it had (4 for kubectl, none for helm), a YAML document with
``safe_dump`` in place, so the comments of the other documents (helm's ``# Source:``)
stay. Output that is not JSON or YAML (tables, ``describe``, logs) comes back
unchanged, unless the tool's ``expects_secrets`` hook says the command asked for
structured output that may carry Secrets and it does not parse (cut by the output cap,
or a watch stopped mid-object): then it is withheld with a notice.

Commands that would print Secret values where no parser can find them are refused
before they run, by the policy (rule ``secret-output``, the tools' ``secret_output``
hooks; see ``k8smcp.policy``).

Not covered: values that stop being a Secret's (``helm get values``, chart NOTES, a
ConfigMap, a template that copies a ``lookup`` result elsewhere, ``exec`` output), and
``kubectl describe secret`` needs nothing (it prints sizes only).

Example::

    >>> out = '{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'
    >>> redact_secrets("kubectl", ["get", "--raw", "/api/v1/namespaces/a/secrets/db"], out)
    '{"kind":"Secret","data":{"password":"<redacted>"}}'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import yaml

from k8smcp.policy.hooks import Command, parse_command
from k8smcp.redact import REDACTED
from k8smcp.tools import find_tool

try:  # libyaml is ~10x faster; PyYAML without it works the same
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

logger = logging.getLogger(__name__)

__all__ = ["REDACTED", "WITHHELD", "redact_output", "redact_secrets"]

WITHHELD = (
    "[k8smcp: output withheld: it may carry Secret values, and it could not be parsed to "
    "redact them (cut by the output cap, or a watch stopped mid-object); narrow the query]\n"
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_NO_WRAP = 1 << 30  # kubectl never folds long strings; neither may we


class _Loader(_BaseLoader):
    """The safe loader, without YAML 1.1 timestamps: a date stays the string it was."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class _UnparseableError(Exception):
    """The text is neither a JSON stream nor a YAML stream."""


def redact_output(command: Command, stdout: str) -> str:
    """``stdout`` of ``command`` with the values of every Secret redacted.

    Returns:
        ``stdout`` itself when there is nothing to redact; otherwise the redacted text in
        the same format, or a notice when it should be structured (the tool's
        ``expects_secrets`` hook) but does not parse.
    """
    return _redact(stdout, lambda: command.spec.expects_secrets(command))


def redact_secrets(tool: str, args: list[str], stdout: str) -> str:
    """``redact_output`` for a command given by the tool's name and its arguments."""
    spec = find_tool(tool)
    if spec is None:
        return _redact(stdout, lambda: False)
    return redact_output(parse_command(spec, args), stdout)


def _redact(stdout: str, expects_secrets: Callable[[], bool]) -> str:
    if not stdout.strip():
        return stdout
    try:
        redacted = _redact_text(stdout)
    except _UnparseableError:
        return WITHHELD if expects_secrets() else stdout
    except Exception:  # a bug here must neither fail the call nor let a value through
        logger.exception("secret redaction failed; output withheld")
        return WITHHELD
    return stdout if redacted is None else redacted


# --- after: parse, redact, re-encode ------------------------------------------------


def _redact_text(text: str) -> str | None:
    """The redacted text, or None when there was nothing to redact.

    Raises:
        _UnparseableError: ``text`` is neither a JSON stream nor a YAML stream.
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            return _redact_json_stream(text)
        except (ValueError, RecursionError):
            pass  # maybe flow-style YAML; the YAML parser decides
    return _redact_yaml_stream(text)


def _redact_json_stream(text: str) -> str | None:
    decoder = json.JSONDecoder()
    pieces: list[str] = []
    changed = False
    pos = 0
    size = len(text)
    while True:
        start = pos
        while start < size and text[start] in " \t\r\n":
            start += 1
        if start == size:
            break
        value, end = decoder.raw_decode(text, start)
        if _redact_tree(value):
            changed = True
            pieces.append(text[pos:start])
            pieces.append(_dump_json(value, text, start))
        else:
            pieces.append(text[pos:end])
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces) if changed else None


def _dump_json(value: Any, text: str, start: int) -> str:
    """``value`` encoded as the value at ``text[start:]`` was: indented or compact."""
    newline = text.find("\n", start)
    if newline < 0 or text[start:newline].rstrip() not in ("{", "["):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    line = newline + 1
    indent = 0
    while line + indent < len(text) and text[line + indent] == " ":
        indent += 1
    return json.dumps(value, ensure_ascii=False, indent=indent or 4)


def _redact_yaml_stream(text: str) -> str | None:
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise _UnparseableError from exc
    changed = [_redact_tree(doc) for doc in docs]
    if not any(changed):
        return None
    pieces: list[str] = []
    pos = 0
    for (start, end), doc, redacted in zip(_document_spans(text), docs, changed, strict=True):
        if redacted:
            region = text[start:end]
            tail = region[len(region.rstrip()) :]
            pieces += [text[pos:start], _dump_yaml(doc).rstrip("\n"), tail or ""]
            pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _document_spans(text: str) -> list[tuple[int, int]]:
    """Where each document's content starts (its root node's line) and ends."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            start = None
        elif isinstance(event, yaml.NodeEvent) and start is None:
            start = _index(event.start_mark)
            line = text.rfind("\n", 0, start) + 1
            if not text[line:start].strip():
                start = line
        elif isinstance(event, yaml.DocumentEndEvent):
            end = _index(event.start_mark)
            spans.append((end if start is None else start, end))
            start = -1  # nodes of this document are behind us
    return spans


def _index(mark: Any) -> int:
    if mark is None:  # pragma: no cover - both parsers set marks
        raise _UnparseableError("no position")
    return int(mark.index)


def _dump_yaml(doc: Any) -> str:
    return yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_NO_WRAP,
    )


def _redact_tree(root: Any) -> bool:
    """Redact every Secret under ``root`` in place; True when anything changed."""
    changed = False
    seen: set[int] = set()  # YAML aliases share nodes, and may even make cycles
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if id(node) in seen:
                continue
            seen.add(id(node))
            kind = node.get("kind")
            if kind == "Secret":
                changed |= _redact_secret(node)
            elif kind == "SecretList" and isinstance(node.get("items"), list):
                for item in node["items"]:  # the API's list items carry no kind
                    if isinstance(item, dict):
                        changed |= _redact_secret(item)
            if _is_helm_release(node):
                changed |= _redact_manifest(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node)
    return changed


def _redact_secret(secret: dict[Any, Any]) -> bool:
    changed = False
    for field in ("data", "stringData"):
        value = secret.get(field)
        if isinstance(value, dict):
            if any(v != REDACTED for v in value.values()):
                secret[field] = dict.fromkeys(value, REDACTED)
                changed = True
        elif value is not None and value != REDACTED:
            secret[field] = REDACTED
            changed = True
    metadata = secret.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(annotations, dict) and isinstance(annotations.get(LAST_APPLIED), str):
        before = annotations[LAST_APPLIED]
        annotations[LAST_APPLIED] = _redact_last_applied(before)
        changed |= annotations[LAST_APPLIED] != before
    return changed


def _redact_last_applied(text: str) -> str:
    """The annotation kubectl apply keeps: the Secret as applied, values included."""
    try:
        applied = json.loads(text)
    except (ValueError, RecursionError):
        return REDACTED
    if not isinstance(applied, dict):
        return REDACTED
    if not _redact_secret(applied):
        return text
    newline = "\n" if text.endswith("\n") else ""
    return json.dumps(applied, ensure_ascii=False, separators=(",", ":")) + newline


def _is_helm_release(node: dict[Any, Any]) -> bool:
    """A helm release (``status -o json``) or one of its hooks: manifests as text."""
    if not isinstance(node.get("manifest"), str):
        return False
    return "info" in node or "chart" in node or ("events" in node and "path" in node)


def _redact_manifest(node: dict[Any, Any]) -> bool:
    try:
        redacted = _redact_yaml_stream(node["manifest"])
    except _UnparseableError:
        node["manifest"] = REDACTED
        return True
    if redacted is None:
        return False
    node["manifest"] = redacted
    return True
