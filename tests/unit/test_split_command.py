"""Commands split like a POSIX shell would split them, and nothing else happens to them."""

from __future__ import annotations

import pytest

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
