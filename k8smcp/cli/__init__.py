"""The ``k8smcp`` command: run | stdio | serve | call | tools | doctor.

The only package that prints or exits. Each command is a module here: it forwards its
options to ``config.build_settings``, calls into the core once, and renders. mcp,
fastapi and rich are imported inside the commands that use them, so --help stays fast.
The Typer app (``app``) is built on first use: ``k8smcp.cli.fast`` runs the common
``run`` and ``call`` command lines without it.
"""

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Each import registers a command; their order is the order of --help.
    import k8smcp.cli.run  # noqa: F401  # isort: skip
    import k8smcp.cli.stdio  # noqa: F401  # isort: skip
    import k8smcp.cli.serve  # noqa: F401  # isort: skip
    import k8smcp.cli.call  # noqa: F401  # isort: skip
    import k8smcp.cli.tools  # noqa: F401  # isort: skip
    import k8smcp.cli.doctor  # noqa: F401  # isort: skip
    from k8smcp.cli.base import app

    return app
