"""Rendering for terminals and scripts: results, tool tables, errors.

rich is imported by the functions that draw with it: printing a result or JSON (every
`run` and `call` in a script) does not load it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from k8smcp.doctor import Check
    from k8smcp.errors import K8sMcpError
    from k8smcp.models import ToolResult, ToolStatus


SPINNER_DELAY = 1.0  # seconds of silence before a terminal shows that we are waiting


@contextmanager
def waiting(message: str) -> Iterator[None]:
    """A spinner on stderr while the body runs, from its first second on, on terminals only.

    Scripts and pipes see nothing: the spinner never starts when stderr is not a terminal.
    """
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    status = console.status(message, spinner="dots")
    timer = threading.Timer(SPINNER_DELAY, status.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def print_result(result: ToolResult) -> None:
    """The tool's own stdout and stderr, byte for byte as it wrote them."""
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.write(result.stderr)
    sys.stderr.flush()


def print_error(exc: K8sMcpError, *, as_json: bool = False) -> None:
    """``ErrorName: message`` on stderr, in red on a terminal; the error body with --json."""
    if as_json:
        from k8smcp.errors import error_body

        print_json(error_body(exc))
        return
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]{type(exc).__name__}:[/] {exc.message}", markup=True)


def print_tools(statuses: list[ToolStatus]) -> None:
    """A table of the catalog: tool, found or missing, path, version."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="k8smcp tools")
    table.add_column("tool", style="bold")
    table.add_column("status")
    table.add_column("path")
    table.add_column("version")
    table.add_column("chosen from")
    for s in statuses:
        status = "[green]found[/]" if s.available else "[red]missing[/]"
        row = (s.tool, status, s.path or "-", s.version or (s.detail or "-"), s.source or "-")
        table.add_row(*row)
    Console().print(table)


def print_remote_tools(tools: list[dict[str, str]]) -> None:
    """The tools a server offers."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="server tools")
    table.add_column("name", style="bold")
    table.add_column("description")
    for tool in tools:
        table.add_row(tool["name"], tool["description"])
    Console().print(table)


_MARKS = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


def print_checks(checks: list[Check]) -> None:
    """The doctor's findings, one row a check."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="k8smcp doctor")
    table.add_column("check", style="bold")
    table.add_column("status")
    table.add_column("detail")
    for check in checks:
        table.add_row(check.name, _MARKS[check.status], check.detail)
    Console().print(table)
