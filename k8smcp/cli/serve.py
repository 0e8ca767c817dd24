"""``k8smcp serve``: MCP (streamable HTTP at /mcp) and REST (/tools/<tool>) over HTTP."""

from typing import Annotated

import typer

from k8smcp import config, speedups
from k8smcp.cli.base import LogFormat, LogLevel, app
from k8smcp.cli.edge import guard
from k8smcp.cli.options import EXECUTION, HTTP, SERVE, with_options
from k8smcp.config import Options, build_settings


@app.command()
@with_options(*SERVE, *EXECUTION)
def serve(
    port: Annotated[
        int, typer.Option(envvar="K8SMCP_PORT", min=0, max=65535, help="Port to listen on.")
    ] = config.DEFAULT_PORT,
    keep_alive_timeout: Annotated[
        int,
        typer.Option(
            envvar="K8SMCP_KEEP_ALIVE_TIMEOUT",
            min=1,
            help="Seconds an idle HTTP connection stays open; keep it above the idle "
            "timeout of the proxy or load balancer in front.",
            rich_help_panel=HTTP,
        ),
    ] = config.DEFAULT_KEEP_ALIVE_TIMEOUT,
    log_level: LogLevel = "info",
    log_format: LogFormat = "text",
    *,
    options: Options,
) -> None:
    """Serve MCP (streamable HTTP at /mcp) and REST (/tools/<tool>) over HTTP.

    Each request brings its kubeconfig, base64, in the X-Kubeconfig header.
    OpenAPI docs are at /docs; /health answers when the server is up.

    Example: k8smcp serve --port 9096, then
    curl -H "X-Kubeconfig: $(base64 -w0 ~/.kube/config)" -d '{"command": "get ns"}'
    -H 'content-type: application/json' http://127.0.0.1:9096/tools/kubectl
    """
    from k8smcp.log import configure_logging

    configure_logging(log_level, log_format)
    settings = guard(lambda: build_settings("server", options))

    import uvicorn

    from k8smcp.http_app import build_app
    from k8smcp.metrics import Metrics
    from k8smcp.service import Service

    server = uvicorn.Server(
        uvicorn.Config(
            build_app(Service(settings, observer=Metrics())),
            host=options.host,
            port=port,
            log_config=None,  # keep configure_logging's handlers
            log_level=log_level.lower(),
            timeout_graceful_shutdown=5,
            timeout_keep_alive=keep_alive_timeout,
        )
    )
    speedups.work_begins()
    server.run()
    if not server.started:
        raise typer.Exit(1)
