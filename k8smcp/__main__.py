"""The ``k8smcp`` command's entry point: the console script and ``python -m k8smcp``."""

import sys

from k8smcp import speedups


def main() -> None:
    """Run the ``k8smcp`` command (the console script's entry point)."""
    speedups.startup()  # the collector stays off while the command imports
    try:
        from k8smcp.cli import fast

        fast.main(sys.argv[1:])  # a plain `run` or `call` runs here and exits
        speedups.load_help_renderer(sys.argv[1:])
        from k8smcp.cli import app

        app()
    finally:
        speedups.process_ends()


if __name__ == "__main__":
    main()
