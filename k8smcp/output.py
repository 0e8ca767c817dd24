"""Rendering for terminals and scripts: results, tool tables, errors."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from k8smcp.errors import K8sMcpError
    from k8smcp.service import ToolResult, ToolStatus


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
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]{type(exc).__name__}:[/] {exc.message}", markup=True)


def print_tools(statuses: list[ToolStatus]) -> None:
    """A table of the catalog: tool, found or missing, path, version."""
    table = Table(title="k8smcp tools")
    table.add_column("tool", style="bold")
    table.add_column("status")
    table.add_column("path")
    table.add_column("version")
    for s in statuses:
        status = "[green]found[/]" if s.available else "[red]missing[/]"
        table.add_row(s.tool, status, s.path or "-", s.version or (s.detail or "-"))
    Console().print(table)


def print_remote_tools(tools: list[dict[str, str]]) -> None:
    """The tools a server offers."""
    table = Table(title="server tools")
    table.add_column("name", style="bold")
    table.add_column("description")
    for tool in tools:
        table.add_row(tool["name"], tool["description"])
    Console().print(table)
