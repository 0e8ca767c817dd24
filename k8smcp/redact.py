"""Redaction of secret-looking values in argument lists, for results and logs.

The argv k8smcp reports back (in results, logs and audit lines) must not carry the
credentials a caller put on the command line: `--token=...`, `--password x`,
`--from-literal=key=value`, `--set db.password=...`.
"""

from __future__ import annotations

import re

REDACTED = "***"

# flag names whose value is a credential: --token, --kube-token, --auth-token, --password,
# --client-secret, --docker-password, --password-stdin does not take a value (bool).
_SECRET_FLAG = re.compile(
    r"^--?[\w.-]*(token|password|passwd|secret|credential|api-?key)[\w.-]*$", re.I
)
_BOOL_FLAGS = frozenset({"--password-stdin"})
# flags whose value holds key=value pairs, some of which may be credentials
_PAIR_FLAGS = frozenset({"--set", "--set-string", "--set-literal", "--set-json"})
# flags whose value is always data the caller may consider secret
_LITERAL_FLAGS = frozenset({"--from-literal"})
_SECRET_KEY = re.compile(r"(token|password|passwd|secret|credential|api-?key|private-?key)", re.I)


def redact_argv(args: list[str]) -> list[str]:
    """A copy of ``args`` with credential values replaced by ``***``.

    >>> redact_argv(["get", "pods", "--token=abc", "--password", "pw"])
    ['get', 'pods', '--token=***', '--password', '***']
    """
    out: list[str] = []
    pending: str | None = None  # the flag whose separate value comes next
    for arg in args:
        if pending is not None:
            out.append(_redact_value(pending, arg))
            pending = None
            continue
        if arg.startswith("-") and "=" in arg:
            flag, value = arg.split("=", 1)
            out.append(f"{flag}={_redact_value(flag, value)}")
            continue
        out.append(arg)
        if _takes_secret_value(arg):
            pending = arg
    return out


def _takes_secret_value(flag: str) -> bool:
    if flag in _BOOL_FLAGS:
        return False
    return bool(_SECRET_FLAG.match(flag)) or flag in _PAIR_FLAGS or flag in _LITERAL_FLAGS


def _redact_value(flag: str, value: str) -> str:
    if flag in _PAIR_FLAGS:
        pairs = []
        for pair in value.split(","):
            key, sep, val = pair.partition("=")
            pairs.append(f"{key}={REDACTED}" if sep and _SECRET_KEY.search(key) else pair)
        return ",".join(pairs)
    if flag in _LITERAL_FLAGS:
        key, sep, _ = value.partition("=")
        return f"{key}={REDACTED}" if sep else REDACTED
    if flag in _BOOL_FLAGS or not _SECRET_FLAG.match(flag):
        return value
    return REDACTED
