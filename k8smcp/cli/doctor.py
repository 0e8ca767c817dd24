"""``k8smcp doctor``: the CLIs, the local kubeconfig and (with --url) a running server."""

from typing import Annotated

import typer

from k8smcp.cli.base import JsonOut, Token, app
from k8smcp.cli.edge import run_async
from k8smcp.cli.options import KUBECONFIG_OPTIONS, with_options
from k8smcp.config import Options, Settings


@app.command()
@with_options(*KUBECONFIG_OPTIONS, "binaries")
def doctor(
    url: Annotated[
        str | None,
        typer.Option(
            envvar="K8SMCP_URL", help="Also check this server's MCP endpoint.", show_default=False
        ),
    ] = None,
    token: Token = None,
    json_out: JsonOut = False,
    *,
    options: Options,
) -> None:
    """Check the CLIs, the local kubeconfig and (with --url) a running server.

    Exits 0 when nothing failed, 1 otherwise; warnings (an optional CLI missing, a
    kubeconfig a server would refuse) do not fail.

    Example: k8smcp doctor --url http://127.0.0.1:9096/mcp
    """
    from dataclasses import asdict

    from k8smcp import doctor as checks
    from k8smcp.output import print_checks, print_json

    async def run_checks() -> list[checks.Check]:
        found = await checks.check_tools(Settings(binaries=options.binaries))
        found += checks.check_local_kubeconfig(
            b64=options.kubeconfig_b64, path=options.kubeconfig, context=options.context
        )
        if url:
            found += await checks.check_server(url, token)
        return found

    results = run_async(run_checks, as_json=json_out)
    if json_out:
        print_json([asdict(c) for c in results])
    else:
        print_checks(results)
    raise typer.Exit(1 if any(c.status == "fail" for c in results) else 0)
