"""``k8smcp call``: run a tool on a running k8smcp server, sending the local kubeconfig."""

import sys
from typing import Annotated, Any

import typer

from k8smcp import config, speedups
from k8smcp.cli.base import (
    PASSTHROUGH,
    JsonOut,
    app,
    finish,
    guard,
    read_stdin,
    run_async,
    wants_stdin,
)
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
    tool's arguments, made self-contained here: the chosen context only, files inlined,
    exec plugins run here and replaced by their credential. Exits with the remote
    command's exit code.

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

    def self_contained() -> str | None:
        """The local kubeconfig, reduced to the chosen context and resolved here."""
        import base64
        from pathlib import Path

        from k8smcp import credentials

        found = config.find_local_kubeconfig(
            b64=options.kubeconfig_b64, path=options.kubeconfig, context=options.context
        )
        if found is None:
            return None
        cache = credentials.cache_dir(Path.home(), config.environ("XDG_CACHE_HOME"))
        interactive = not wants_stdin(tool_args) and sys.stdin.isatty()
        resolved = credentials.self_contained(found, cache=cache, interactive=interactive)
        return base64.b64encode(resolved.render()).decode()

    sent = guard(self_contained, as_json=json_out)
    stdin = read_stdin(tool_args)

    def send() -> Any:
        import os

        return client.call(
            url,
            tool,
            tool_args,
            kubeconfig=sent,
            token=token,
            timeout=timeout,
            context=options.context,
            stdin=stdin,
            proxied=client.proxied(os.environ),
        )

    speedups.work_begins()
    if sys.stderr.isatty():  # the spinner's rich console loads only for terminals
        from k8smcp.output import waiting

        with waiting(f"{tool} {' '.join(tool_args[:3])} on {url} ..."):
            result = guard(send, as_json=json_out)
    else:
        result = guard(send, as_json=json_out)
    finish(result, json_out)
