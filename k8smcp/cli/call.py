"""``k8smcp call``: run a tool on a running k8smcp server, sending the local kubeconfig."""

from typing import Annotated

import typer

from k8smcp import config
from k8smcp.cli.base import PASSTHROUGH, JsonOut, app, finish, guard, read_stdin, run_async
from k8smcp.cli.options import KUBECONFIG_OPTIONS, with_options
from k8smcp.config import Options

Url = Annotated[str, typer.Option(envvar="K8SMCP_URL", help="The server's MCP endpoint.")]
Token = Annotated[
    str | None,
    typer.Option(envvar="K8SMCP_TOKEN", help="Bearer token for the server.", show_default=False),
]


@app.command(context_settings=PASSTHROUGH)
@with_options(*KUBECONFIG_OPTIONS)
def call(
    tool: Annotated[
        str | None, typer.Argument(help="kubectl, helm, istioctl or argocd.", show_default=False)
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(help="The tool's arguments, passed as they are.")
    ] = None,
    url: Url = config.DEFAULT_URL,
    token: Token = None,
    list_: Annotated[bool, typer.Option("--list", help="List the server's tools.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.001, help="Seconds the command may run (server default if unset)."),
    ] = None,
    json_out: JsonOut = False,
    *,
    options: Options,
) -> None:
    """Run a tool on a running k8smcp server, sending the local kubeconfig with it.

    The kubeconfig (as `run` finds it) travels in the X-Kubeconfig header, never in the
    tool's arguments. Exits with the remote command's exit code.

    Example: k8smcp call --url http://127.0.0.1:9096/mcp kubectl get pods -n web
    """
    from k8smcp import client
    from k8smcp.log import configure_logging

    configure_logging("warning")
    if list_:
        tools = run_async(lambda: client.list_tools(url, token=token), as_json=json_out)
        if json_out:
            from k8smcp.output import print_json

            print_json(tools)
        else:
            from k8smcp.output import print_remote_tools

            print_remote_tools(tools)
        return
    if tool is None:
        typer.echo("Error: give a tool and its arguments, or --list.", err=True)
        raise typer.Exit(2)
    tool_args = list(args or [])

    def local_b64() -> str | None:
        import base64

        if options.kubeconfig_b64:
            return options.kubeconfig_b64
        found = config.find_local_kubeconfig(path=options.kubeconfig)
        return base64.b64encode(found.render()).decode() if found else None

    sent = guard(local_b64, as_json=json_out)
    stdin = read_stdin(tool_args)
    from k8smcp.output import waiting

    with waiting(f"{tool} {' '.join(tool_args[:3])} on {url} ..."):
        result = run_async(
            lambda: client.call(
                url,
                tool,
                tool_args,
                kubeconfig=sent,
                token=token,
                timeout=timeout,
                context=options.context,
                stdin=stdin,
            ),
            as_json=json_out,
        )
    finish(result, json_out)
