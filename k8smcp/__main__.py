"""The ``k8smcp`` command's entry point: the console script and ``python -m k8smcp``.

It runs the garbage collector's part of a short command's life. Importing Typer and rich
makes tens of thousands of objects and no garbage, yet triggers collections that scan them
(~15 ms of ``k8smcp --help``); and interpreter shutdown collects everything again, module by
module (~17 ms). So collection is off while the command's modules import, and every object
is frozen out of the collector once the command has returned: the process is about to exit,
and exit still flushes the standard streams, runs atexit handlers and frees what reference
counting frees. None of k8smcp's cleanup waits on the collector: call directories and
children are removed by the code that made them, before the command returns.
"""

import gc
import sys


def main() -> None:
    """Run the ``k8smcp`` command (the console script's entry point)."""
    gc.disable()
    try:
        from k8smcp import cli

        cli.load_help_renderer(sys.argv[1:])
    finally:
        gc.enable()
    try:
        cli.app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
