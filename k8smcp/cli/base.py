"""The Typer app and the typed options several commands share (``k8smcp.cli.options``)."""

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from k8smcp import __version__
from k8smcp.cli.options import annotated

app = typer.Typer(
    name="k8smcp",
    help="Run kubectl, helm, istioctl and argocd against any cluster: over MCP (stdio or "
    "HTTP), REST, or straight from the terminal. The kubeconfig travels with each call.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

# `run` and `call`: k8smcp's options before the tool's name, the tool's own after it
PASSTHROUGH = {"allow_interspersed_args": False, "ignore_unknown_options": True}

if TYPE_CHECKING:  # what the options are; Typer's declarations come from the table
    JsonOut = bool
    LogLevel = str
    Token = str | None
else:
    JsonOut = annotated("json_out")
    LogLevel = annotated("log_level")
    Token = annotated("token")
LogFormat = Annotated[
    Literal["text", "json"],
    typer.Option(
        envvar="K8SMCP_LOG_FORMAT",
        help="text (for people) or json (one object a line, for log pipelines).",
    ),
]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"k8smcp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Run Kubernetes CLIs for LLM agents, people and scripts."""
