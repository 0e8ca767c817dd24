"""What ``run`` and ``call`` do once their options are parsed, without Typer.

``k8smcp.cli.run`` and ``k8smcp.cli.call`` (Typer) and ``k8smcp.cli.fast`` (the same
options read from the same tables, for the common command lines) both end here, so a
command does the same work and exits the same way whichever parsed it.
"""

import sys
from typing import Any

from k8smcp import config, speedups
from k8smcp.cli.edge import finish, guard, read_stdin, run_async, wants_stdin
from k8smcp.config import Options, build_settings


def run(
    tool: str, tool_args: list[str], *, log_level: str, json_out: bool, options: Options
) -> None:
    """``k8smcp run``: the tool here, with the local kubeconfig; exits with its exit code."""
    from k8smcp.log import configure_logging
    from k8smcp.service import Service, ToolCall

    configure_logging(log_level)
    settings = guard(lambda: build_settings("local", options), as_json=json_out)
    call = ToolCall(
        tool=tool,
        command=tool_args,
        stdin=read_stdin(tool_args),
        timeout=options.timeout,
        client="cli",
        entry="cli",
    )

    def execute() -> Any:
        # one call, then the process exits: nothing is made ahead for a next one
        return run_async(lambda: Service(settings, one_shot=True).call_tool(call), as_json=json_out)

    if sys.stderr.isatty():  # the spinner's rich console loads only for terminals
        from k8smcp.output import waiting

        with waiting(f"{tool} {' '.join(tool_args[:3])} ..."):
            result = execute()
    else:
        result = execute()
    finish(result, json_out)


def call(
    tool: str | None,
    tool_args: list[str],
    *,
    url: str,
    token: str | None,
    list_: bool,
    call_timeout: float | None,
    json_out: bool,
    options: Options,
) -> None:
    """``k8smcp call``: the tool on a running server; exits with the remote exit code."""
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
        print("Error: give a tool and its arguments, or --list.", file=sys.stderr)
        raise SystemExit(2)

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
            timeout=call_timeout,
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
