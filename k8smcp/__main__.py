"""The ``k8smcp`` command's entry point: the console script and ``python -m k8smcp``.

It runs the garbage collector's part of a command's life. Start-up makes hundreds of
thousands of objects and no garbage (Typer and rich for every command; the MCP SDK's
pydantic models, FastAPI and uvicorn for ``stdio`` and ``serve``), yet collections keep
scanning them: 15-20 % of start-up. And interpreter shutdown collects everything again,
module by module (~17 ms of ``k8smcp --help``). So collection is off from here until a
command has imported what it needs and begins its work (``cli._collect_garbage``, which
freezes the start-up objects out of later collections), and everything is frozen once the
command returns: exit still flushes the standard streams, runs atexit handlers and frees
what reference counting frees. None of k8smcp's cleanup waits on the collector: call
directories and children are removed by the code that made them, before the command
returns. ``--help`` and ``--version`` never turn it on.
"""

import gc
import sys


def main() -> None:
    """Run the ``k8smcp`` command (the console script's entry point)."""
    gc.disable()
    try:
        from k8smcp import cli

        cli.load_help_renderer(sys.argv[1:])
        cli.app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
