"""Credentials on a command line never reach a result or a log."""

from __future__ import annotations

import pytest

from k8smcp.redact import redact_argv


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["get", "pods", "--token=abc"], ["get", "pods", "--token=<redacted>"]),
        (["get", "--token", "abc", "pods"], ["get", "--token", "<redacted>", "pods"]),
        (["login", "--password", "pw"], ["login", "--password", "<redacted>"]),
        (["x", "--kube-token=t"], ["x", "--kube-token=<redacted>"]),
        (["app", "list", "--auth-token", "t"], ["app", "list", "--auth-token", "<redacted>"]),
        (
            ["create", "secret", "generic", "s", "--from-literal=pass=hunter2"],
            ["create", "secret", "generic", "s", "--from-literal=pass=<redacted>"],
        ),
        (
            ["install", "x", "--set", "image.tag=1,db.password=pw,apiKey=k"],
            ["install", "x", "--set", "image.tag=1,db.password=<redacted>,apiKey=<redacted>"],
        ),
        (
            ["registry", "login", "--password-stdin", "r"],
            ["registry", "login", "--password-stdin", "r"],
        ),
        (["get", "pods", "-o", "json"], ["get", "pods", "-o", "json"]),
    ],
)
def test_redact_argv(args: list[str], expected: list[str]) -> None:
    assert redact_argv(args) == expected


def test_redaction_does_not_change_its_input() -> None:
    args = ["--token", "abc"]
    redact_argv(args)
    assert args == ["--token", "abc"]
