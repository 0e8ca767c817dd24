"""Commands split like a POSIX shell would split them, and nothing else happens to them."""

from __future__ import annotations

import shlex
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8smcp.cmdline import MAX_COMMAND_BYTES, split
from k8smcp.errors import InvalidCommandError
from k8smcp.service import split_command
from k8smcp.tools import TOOLS

KUBECTL = TOOLS["kubectl"]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("get pods -n x", ["get", "pods", "-n", "x"]),
        ("kubectl get pods", ["get", "pods"]),
        (
            "get pods -o jsonpath='{.items[*].metadata.name}'",
            ["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
        ),
        (
            'get pods -o go-template="{{range .items}}{{.metadata.name}} {{end}}"',
            ["get", "pods", "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}"],
        ),
        ("get pods; rm -rf /", ["get", "pods;", "rm", "-rf", "/"]),
        ("get $(whoami) `id`", ["get", "$(whoami)", "`id`"]),
        (["get", "pods", "a b"], ["get", "pods", "a b"]),
    ],
)
def test_split(command: str | list[str], args: list[str]) -> None:
    assert split_command(KUBECTL, command) == args


@pytest.mark.parametrize("command", ["", "   ", "kubectl", []])
def test_empty_command_is_refused(command: str | list[str]) -> None:
    with pytest.raises(InvalidCommandError, match="command is empty"):
        split_command(KUBECTL, command)


def test_unclosed_quote_is_refused() -> None:
    with pytest.raises(InvalidCommandError, match="check the quotes"):
        split_command(KUBECTL, "get pods -o 'jsonpath={")


# --- linear, capped splitting (issue 14, class 4 and 5) -----------------------------

SHELLISH = st.text(alphabet=st.sampled_from(list("ab \t\n\r'\"\\=-é$|")), max_size=40)


@settings(max_examples=2000, deadline=None)
@given(text=SHELLISH)
def test_split_gives_what_shlex_gives(text: str) -> None:
    try:
        expected: list[str] | str = shlex.split(text)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: list[str] | str = split(text)
    except ValueError as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize(
    "command",
    [
        "get pods " + "a" * MAX_COMMAND_BYTES,
        "get pods '" + "é" * (MAX_COMMAND_BYTES // 2) + "'",  # 2 bytes a character
        ["get", "pods", "x" * (200 * 1024)],  # over what exec takes for one argument
        ["get", *["y"] * MAX_COMMAND_BYTES],
    ],
    ids=["string", "utf8-bytes", "e2big-argument", "many-arguments"],
)
def test_a_command_over_the_cap_is_refused_quickly(command: str | list[str]) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidCommandError, match="longer than 65536 bytes"):
        split_command(KUBECTL, command)
    assert time.monotonic() - started < 0.5


def test_a_command_under_the_cap_splits() -> None:
    assert split_command(KUBECTL, "get pods " + "a" * 60_000)[-1] == "a" * 60_000
    assert len(split_command(KUBECTL, "get " + "x " * 30_000)) == 30_001


def test_splitting_is_linear() -> None:
    """512 KiB in one word, in many words, and in escapes: shlex takes tens of seconds
    on the first (quadratic); linear work stays well under the bound even on a busy
    machine."""
    started = time.monotonic()
    assert split("a" * 512 * 1024) == ["a" * 512 * 1024]
    assert len(split("x " * 256 * 1024)) == 256 * 1024
    assert split('"' + '\\"' * 100_000 + '"') == ['"' * 100_000]
    assert time.monotonic() - started < 8


@pytest.mark.parametrize("command", ["get pods \ud800", ["get", "\udc80"]])
def test_a_lone_surrogate_is_refused(command: str | list[str]) -> None:
    with pytest.raises(InvalidCommandError, match="lone surrogate"):
        split_command(KUBECTL, command)
