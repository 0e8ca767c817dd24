"""``run`` and ``call`` straight from the command line, without building Typer.

Scripts call ``k8smcp call`` in loops and people type ``k8smcp run`` all day, and Typer
(with its vendored Click) cost each of them about 40 ms of CPU to import and build before the
command starts. Their command lines are simple: k8smcp's options, then the tool's name,
then the tool's arguments as they are. ``main`` reads exactly those from the tables of
``k8smcp.cli.options`` (the same flags, variables, types, defaults and minimums Typer
is given) and calls the same body (``k8smcp.cli.work``). Anything else goes to Typer,
which gives the help, the usage errors and their messages: an option it does not
know, ``--help``, ``--``, a value that does not convert or is below its minimum, a flag
given a value, an empty value, a word Click does not read as a boolean, no tool name.

Off with ``K8SMCP_NO_SPEEDUPS=1`` (every command line then goes through Typer), which the
tests use to compare both paths.
"""

import sys
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Any, NoReturn, get_args

from k8smcp import speedups
from k8smcp.cli import options as table
from k8smcp.config import environ

COMMANDS = {"run": table.RUN, "call": table.CALL}


class _Fallback(Exception):
    """This command line is Typer's to read."""


def main(argv: list[str]) -> None:
    """Run ``argv`` (without the program name) if it is a plain ``run`` or ``call``.

    Returns when Typer must read it; otherwise the command runs and exits.
    """
    if not speedups.ENABLED or not argv or argv[0] not in COMMANDS:
        return
    parsed = parse(argv[0], argv[1:], environ)
    if parsed is None:
        return
    tool, tool_args, kwargs = parsed
    from k8smcp.cli import work

    body = work.run if argv[0] == "run" else work.call
    _exit_as_click_does(lambda: body(tool, tool_args, **kwargs))


Environ = Callable[[str], str | None]


def parse(
    command: str, argv: list[str], env: Environ = environ
) -> tuple[str, list[str], dict[str, Any]] | None:
    """The tool, its arguments and the command's keyword arguments, or None for Typer.

    ``env`` reads a variable (``config.environ``, or a stand-in in tests).
    """
    names = COMMANDS[command]
    try:
        flags, values = _table(names, env)
        index = 0
        while index < len(argv) and argv[index].startswith("-"):
            option, equals, value = argv[index].partition("=")
            if option not in flags:
                raise _Fallback
            param, kind, minimum, flag_value = flags[option]
            index += 1
            if kind is bool:
                if equals:
                    raise _Fallback
                values[param] = flag_value
                continue
            if not equals:
                if index == len(argv):
                    raise _Fallback
                value = argv[index]
                index += 1
            values[param] = _convert(value, kind, minimum)
    except _Fallback:
        return None
    if index == len(argv):  # no tool: Typer's message (call: or --list)
        return None
    return argv[index], argv[index + 1 :], table.collect(names, values)


def _table(
    names: tuple[str, ...], env: Environ
) -> tuple[dict[str, tuple[str, type, float | None, bool]], dict[str, Any]]:
    """The flags and the values before the command line is read.

    Each flag string maps to (parameter, kind, minimum, a flag's value); the values are
    the defaults, then the variables.
    """
    fields = tuple(name for name in names if name != "binaries")
    kinds = {name: _kind(hint) for name, hint in table.types(fields).items()}
    values = table.defaults(fields)
    flags: dict[str, tuple[str, type, float | None, bool]] = {}
    for name in fields:
        kind, minimum = kinds[name], table.flag(name).min
        decls = table.decls(name)
        if kind is bool:
            if len(decls) != 1:
                raise _Fallback
            on, _, off = decls[0].partition("/")
            flags[on] = (name, bool, None, True)
            if off:
                flags[off] = (name, bool, None, False)
        else:
            for decl in decls:
                flags[decl] = (name, kind, minimum, False)
        variable = table.envvar(name)
        value = env(variable) if variable else None
        if value:  # Click ignores an empty variable
            values[name] = _boolean(value) if kind is bool else _convert(value, kind, minimum)
    for option in table.binaries(names):
        flags[option.flag] = (option.param, str, None, False)
        values[option.param] = env(option.envvar) or None
    return flags, values


def _kind(hint: Any) -> type:
    """bool, int, float, str or Path: the type an option converts its text to."""
    if isinstance(hint, UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if hint not in (bool, int, float, str, Path):
        raise _Fallback
    return hint  # type: ignore[no-any-return]


# The words Click reads as a boolean in a variable (its BoolParamType; K8SMCP_READ_ONLY=1)
_BOOLEANS = {"1": True, "yes": True, "true": True, "on": True, "t": True, "y": True}
_BOOLEANS |= {"0": False, "no": False, "false": False, "off": False, "f": False, "n": False}


def _boolean(text: str) -> bool:
    """A variable's ``text`` as Click reads a boolean, or _Fallback for its error."""
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise _Fallback from None


def _convert(text: str, kind: type, minimum: float | None) -> Any:
    """``text`` as Click converts it, or _Fallback where Click would refuse it."""
    if not text or text.startswith("-"):  # Typer's to judge (a value, or a forgotten one)
        raise _Fallback
    try:
        value = kind(text)
    except ValueError:
        raise _Fallback from None
    if minimum is not None and value < minimum:
        raise _Fallback
    return value


def _exit_as_click_does(body: Any) -> NoReturn:
    """Run ``body``; Ctrl-C outside a call and a closed stdout end as under Typer (130, 1)."""
    try:
        body()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        # what Python's documentation advises for SIGPIPE: no second error at exit
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    raise SystemExit(0)
