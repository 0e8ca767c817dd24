"""``k8smcp call``: run a tool on a running k8smcp server, sending the local kubeconfig."""

from typing import Annotated, Any

import typer

from k8smcp.cli import work
from k8smcp.cli.base import PASSTHROUGH, app
from k8smcp.cli.options import CALL, with_options


@app.command(context_settings=PASSTHROUGH)
@with_options(*CALL)
def call(
    tool: Annotated[
        str | None, typer.Argument(help="kubectl, helm, istioctl or argocd.", show_default=False)
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    **given: Any,
) -> None:
    """Run a tool on a running k8smcp server, sending the local kubeconfig with it.

    The kubeconfig (as `run` finds it) travels in the X-Kubeconfig header, never in the
    tool's arguments, made self-contained here: the chosen context only, files inlined,
    exec plugins run here and replaced by their credential. Exits with the remote
    command's exit code.

    Example: k8smcp call --url http://127.0.0.1:9096/mcp kubectl get pods -n web
    """
    work.call(tool, list(args or []), **given)
