"""Every setting the CLI reads from the environment is documented in README.md."""

from __future__ import annotations

from pathlib import Path

import typer.main

from k8smcp.cli import app

ROOT = Path(__file__).parents[2]


def cli_variables() -> set[str]:
    group = typer.main.get_command(app)
    names: set[str] = set()
    for command in group.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            envvar = param.envvar
            if envvar:
                names.update([envvar] if isinstance(envvar, str) else envvar)
    return names


def test_every_k8smcp_variable_is_in_the_readme() -> None:
    variables = cli_variables() | {"K8SMCP_NO_SPEEDUPS"}
    assert len(variables) >= 15
    readme = (ROOT / "README.md").read_text()
    assert sorted(v for v in variables if f"`{v}`" not in readme) == []
