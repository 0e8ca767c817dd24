"""The ``k8smcp`` command's entry point: the console script and ``python -m k8smcp``."""

import sys


def main() -> None:
    """Run the ``k8smcp`` command (the console script's entry point)."""
    if sys.argv[1:2] == ["run"]:
        from k8smcp.cli import warm  # before the rest of k8smcp: the standard library only

        if warm.wanted():
            warm.hand_over(sys.argv)  # exits, unless no warm process took the command
    command(sys.argv[1:])


def command(args: list[str]) -> None:
    """Run the command line ``args`` (without the program's name); a warm worker's too."""
    from k8smcp import speedups

    speedups.startup()  # the collector stays off while the command imports
    try:
        from k8smcp.cli import fast

        fast.main(args)  # a plain `run` or `call` runs here and exits
        speedups.load_help_renderer(args)
        from k8smcp.cli import app

        app()
    finally:
        speedups.process_ends()


if __name__ == "__main__":
    main()
