"""``k8smcp stdio``: MCP over standard input and output, for clients that spawn k8smcp."""

from k8smcp.cli.base import LogFormat, LogLevel, app
from k8smcp.cli.edge import guard, run_async
from k8smcp.cli.options import EXECUTION, with_options
from k8smcp.config import Options, build_settings


@app.command()
@with_options(*EXECUTION)
def stdio(
    log_level: LogLevel = "warning",
    log_format: LogFormat = "text",
    *,
    options: Options,
) -> None:
    """Serve MCP over stdin/stdout, for clients that spawn k8smcp (Claude Desktop, Cursor).

    Tool calls without a kubeconfig argument use the kubeconfig found at launch.
    """
    from k8smcp.log import configure_logging

    configure_logging(log_level, log_format)
    settings = guard(lambda: build_settings("local", options))

    from k8smcp.mcp_server import build_server
    from k8smcp.service import Service

    async def serve_stdio() -> None:
        service = Service(settings)
        try:
            await build_server(service).run_stdio_async()
        finally:
            await service.aclose()

    run_async(serve_stdio)
