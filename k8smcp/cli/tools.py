"""``k8smcp tools``: which CLIs are installed here, where, and which versions."""

from k8smcp.cli.base import JsonOut, app
from k8smcp.cli.edge import run_async
from k8smcp.cli.options import with_options
from k8smcp.config import Options, Settings


@app.command()
@with_options("binaries")
def tools(json_out: JsonOut = False, *, options: Options) -> None:
    """Show which tools are installed here, where, and which versions."""
    from dataclasses import asdict

    from k8smcp.output import print_json, print_tools
    from k8smcp.service import Service

    statuses = run_async(Service(Settings(binaries=options.binaries), one_shot=True).catalog)
    if json_out:
        print_json([asdict(s) for s in statuses])
    else:
        print_tools(statuses)
