"""``k8smcp run``: one tool, here, with the local kubeconfig."""

import sys
from typing import Annotated

import typer

from k8smcp.cli.base import (
    PASSTHROUGH,
    JsonOut,
    LogLevel,
    app,
    finish,
    guard,
    read_stdin,
    run_async,
)
from k8smcp.cli.options import EXECUTION, with_options
from k8smcp.config import Options, build_settings


@app.command(context_settings=PASSTHROUGH)
@with_options(*EXECUTION)
def run(
    tool: Annotated[str, typer.Argument(help="kubectl, helm, istioctl or argocd.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    log_level: LogLevel = "warning",
    json_out: JsonOut = False,
    *,
    options: Options,
) -> None:
    """Run a tool here, with the local kubeconfig, and exit with its exit code.

    k8smcp's own options go before the tool's name; everything after it is the tool's.
    Standard input is passed on when an argument is `-` (as in `apply -f -`).

    Example: k8smcp run kubectl get pods -n kube-system
    """
    from k8smcp.log import configure_logging
    from k8smcp.service import Service, ToolCall

    configure_logging(log_level)
    tool_args = list(args or [])
    settings = guard(lambda: build_settings("local", options), as_json=json_out)
    call = ToolCall(
        tool=tool,
        command=tool_args,
        stdin=read_stdin(tool_args),
        timeout=options.timeout,
        client="cli",
        entry="cli",
    )
    if sys.stderr.isatty():  # the spinner's rich console loads only for terminals
        from k8smcp.output import waiting

        with waiting(f"{tool} {' '.join(tool_args[:3])} ..."):
            result = run_async(lambda: Service(settings).call_tool(call), as_json=json_out)
    else:
        result = run_async(lambda: Service(settings).call_tool(call), as_json=json_out)
    finish(result, json_out)
