"""The speed-ups that reach beyond k8smcp's own code, in one place, each with its guard.

Each was measured (bench/README.md, "what made it fast") and each changes something that
is not ours: the interpreter's garbage collector, ``sys.modules`` while Typer's help
renderer imports, a private attribute of sse_starlette. Each is a no-op when its
precondition does not hold, and ``K8SMCP_NO_SPEEDUPS=1`` turns every one of them off
(k8smcp then behaves the same, only slower; the tests run it both ways).

- The collector (``startup``, ``work_begins``, ``process_ends``): start-up makes
  hundreds of thousands of objects and no garbage (Typer and rich for every command; the
  MCP SDK's pydantic models, FastAPI and uvicorn for ``stdio`` and ``serve``), yet
  collections keep scanning them: 15-20 % of start-up. So the console script turns the
  collector off at process start, ``work_begins`` freezes what start-up made and turns it
  back on once a command's imports are done, and ``process_ends`` freezes everything so
  interpreter shutdown does not collect it all again (~17 ms of ``--help``). Only the
  process that ``startup`` ran in is touched: called in-process (a test, a host program)
  the other two do nothing.
- ``load_help_renderer``: Typer's rich help renderer without the two rich modules it
  never uses here (~40 ms of ``--help``).
- ``fast_sse_line_breaks``: sse_starlette splits every event on line breaks with a
  regular expression, on the event loop (25 ms per 2 MB answer); JSON-RPC text has none.
- ``import_yaml``: PyYAML compiles, as it imports, a character class over all of Unicode
  that only its pure-Python reader uses (k8smcp reads YAML with the C loader): 58 M
  instructions, 9 % of a ``run``'s start and 17 % of a ``call``'s. It compiles on first
  use instead, as do the resolver's eight scalar patterns (a document uses those of the
  first characters its plain scalars start with) and the constructor's timestamp pattern.

``K8SMCP_NO_SPEEDUPS=1`` also sends every ``run`` and ``call`` command line through Typer
instead of ``k8smcp.cli.fast`` (ours, but switched here so the tests can compare both).
"""

from __future__ import annotations

import gc
import re
import sys
import types
from typing import Any

from k8smcp.config import environ

ENABLED = environ("K8SMCP_NO_SPEEDUPS") not in ("1", "true", "yes")
_console_script = False  # startup() ran: this process is the `k8smcp` command's own


def startup() -> None:
    """At the console script's start: the collector off until a command begins its work."""
    global _console_script
    _console_script = True
    if ENABLED:
        gc.disable()


def work_begins() -> None:
    """A command's imports are done: freeze what they made and collect from now on."""
    if _console_script and ENABLED and not gc.isenabled():
        gc.freeze()
        gc.enable()


def process_ends() -> None:
    """The command returned: nothing is garbage that shutdown would need to collect."""
    if _console_script and ENABLED:
        gc.freeze()


def load_help_renderer(args: list[str]) -> None:
    """Import Typer's help renderer now, without rich's unused modules, if ``args`` ask for help.

    ``typer.rich_utils`` imports ``rich.markdown`` (for markup mode "markdown"; ours is
    "rich") and ``rich.traceback`` (for pretty exceptions; ours are off) at module level.
    While it imports, stand-ins take their place that load the real class on first use,
    so nothing else ever sees them. No-op when the renderer or either module is loaded.
    """
    if not ENABLED or (args and "--help" not in args):
        return
    import_help_renderer()


def import_help_renderer() -> None:
    """Import ``typer.rich_utils`` with deferred stand-ins for its two unused rich imports."""
    if "typer.rich_utils" in sys.modules:
        return
    standins = {}
    for module, name in (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback")):
        if module not in sys.modules:
            standins[module] = types.ModuleType(module)
            setattr(standins[module], name, _Deferred(name, (), {"target": (module, name)}))
    sys.modules.update(standins)
    try:
        import typer.rich_utils  # noqa: F401
    finally:
        for module, standin in standins.items():
            if sys.modules.get(module) is standin:
                del sys.modules[module]


class _Deferred(type):
    """A class that imports ``target`` (module, name) when it is first called or read."""

    target: tuple[str, str]

    def _real(cls) -> Any:
        import importlib

        module, name = cls.target
        return getattr(importlib.import_module(module), name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        return getattr(cls._real(), attr)


class LineBreaks:
    r"""sse_starlette's line-break pattern, with a fast answer for text that has none.

    ``ServerSentEvent.encode`` splits every event's data on ``\r\n|\r|\n``; JSON-RPC text
    never holds a raw line break, and ``in`` finds that out at memchr speed. The result is
    the same either way (tests/unit/test_http_app.py compares the bytes).
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def split(self, text: str) -> list[str]:
        """``pattern.split(text)``, without the regex when there is nothing to split."""
        if "\n" not in text and "\r" not in text:
            return [text]
        return self.pattern.split(text)

    def sub(self, replacement: str, text: str) -> str:
        """``pattern.sub``, unchanged."""
        return self.pattern.sub(replacement, text)


def fast_sse_line_breaks() -> None:
    """Install ``LineBreaks`` in sse_starlette, if it still keeps its pattern where 3.x does."""
    if not ENABLED:
        return
    from sse_starlette.event import ServerSentEvent

    current = getattr(ServerSentEvent, "_LINE_SEP_EXPR", None)
    if isinstance(current, re.Pattern):  # another sse_starlette, or done: leave it
        ServerSentEvent._LINE_SEP_EXPR = LineBreaks(current)  # type: ignore[assignment]


_LAZY_YAML = ("yaml.reader", "yaml.resolver", "yaml.constructor")


def import_yaml() -> None:
    """Import PyYAML, with the patterns it compiles at import compiled on first use.

    While PyYAML imports, ``re.compile`` called from ``_LAZY_YAML``'s modules returns a
    ``LazyPattern``; every other caller gets ``re.compile`` itself, which is back in place
    when the import ends. No-op when ``yaml.reader`` is loaded already.
    """
    if not ENABLED or "yaml.reader" in sys.modules:
        return
    real = re.compile

    def compile_(pattern: Any, flags: int = 0) -> Any:
        if sys._getframe(1).f_globals.get("__name__") in _LAZY_YAML:
            return LazyPattern(real, pattern, flags)
        return real(pattern, flags)

    re.compile = compile_
    try:
        import yaml  # noqa: F401
    finally:
        re.compile = real


class LazyPattern:
    """A regular expression compiled when it is first used, then exactly that pattern."""

    def __init__(self, compile_: Any, pattern: Any, flags: int) -> None:
        self._compile = compile_
        self._args = (pattern, flags)
        self._compiled: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = self._compile(*self._args)
        return getattr(self._compiled, name)
