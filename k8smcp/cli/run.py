"""``k8smcp run``: one tool, here, with the local kubeconfig."""

from typing import Annotated, Any

import typer

from k8smcp.cli import work
from k8smcp.cli.base import PASSTHROUGH, app
from k8smcp.cli.options import RUN, with_options


@app.command(context_settings=PASSTHROUGH)
@with_options(*RUN)
def run(
    tool: Annotated[str, typer.Argument(help="kubectl, helm, istioctl or argocd.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    **given: Any,
) -> None:
    """Run a tool here, with the local kubeconfig, and exit with its exit code.

    k8smcp's own options go before the tool's name; everything after it is the tool's.
    Standard input is passed on when an argument is `-` (as in `apply -f -`).
    At a terminal the command goes to a warm process of yours (faster; README);
    K8SMCP_WARM=0 never, K8SMCP_WARM=1 also in scripts.

    Example: k8smcp run kubectl get pods -n kube-system
    """
    work.run(tool, list(args or []), **given)
