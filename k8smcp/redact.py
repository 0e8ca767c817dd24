"""Redaction of secret-looking values in argument lists, for results and logs.

The argv k8smcp reports back (in results, logs and audit lines) must not carry the
credentials a caller put on the command line: `--token=...`, `--password x`,
`--from-literal=key=value`, `--set db.password=...`, and a `KEY=VALUE` whose key looks
like a credential wherever it stands (`set env deploy/x DB_PASSWORD=...`, `--env`,
after `--`). ``REDACTED`` is the one marker k8smcp puts where a value was, here and in
Secret output (``k8smcp.secrets``).
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

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
# keys that name a credential: DB_PASSWORD, db.password, apiKey, AWS_SECRET_ACCESS_KEY,
# GITHUB_TOKEN, PGPASS, MYSQL_PWD, private-key, credentials, auth
_SECRET_KEY = re.compile(
    r"token|passw|passwd|pass($|[^a-z])|passphrase|pwd|secret|credential|api-?_?key|"
    r"private-?_?key|access-?_?key|(^|[^a-z])auth|session|cookie",
    re.I,
)
_PAIR = re.compile(r"^([A-Za-z_][\w.-]*)=(.*)$", re.S)


def redact_argv(args: list[str]) -> list[str]:
    """A copy of ``args`` with credential values replaced by ``<redacted>``.

    >>> redact_argv(["get", "pods", "--token=abc", "--password", "pw"])
    ['get', 'pods', '--token=<redacted>', '--password', '<redacted>']
    >>> redact_argv(["set", "env", "deploy/x", "DB_PASSWORD=hunter2", "LOG=debug"])
    ['set', 'env', 'deploy/x', 'DB_PASSWORD=<redacted>', 'LOG=debug']
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
        if arg.startswith("-"):
            out.append(arg)
            pending = arg  # its value, if it takes one, may be KEY=VALUE
            continue
        out.append(_redact_pair(arg))
    return out


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
    if flag not in _BOOL_FLAGS and _SECRET_FLAG.match(flag):
        return REDACTED
    return _redact_pair(value)


def _redact_pair(arg: str) -> str:
    """``KEY=<redacted>`` when ``arg`` is ``KEY=VALUE`` and the key looks like a credential."""
    match = _PAIR.match(arg)
    if match is None or not _SECRET_KEY.search(match[1]) or not match[2]:
        return arg
    return f"{match[1]}={REDACTED}"
