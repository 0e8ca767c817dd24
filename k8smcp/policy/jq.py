r"""jq programs: refuse the builtins that reach outside the input, before jq runs.

jq reads only its standard input here (no file arguments, no ``-f``/``-L``), but its
language can still read the process environment (``$ENV``, ``env``), name files
(``input_filename``, ``$__loc__`` is harmless), load modules from disk (``import``,
``include``, ``modulemeta``, ``get_search_list``), tell where it is installed
(``get_prog_origin``, ``get_jq_origin``) or write outside stdout (``debug``,
``stderr``, ``input_line_number`` is harmless). Those names are refused wherever they
stand as code: in the program, and in the code of a string interpolation ``"\(...)"``;
as a field (``.env``), an object key (``{env: 1}``) or text inside a string they are data.

Loops and big ranges (``[range(1e9)]``, ``def f: f; f``) cannot be told from useful
programs by reading them: the executor's time and memory limits stop them.
"""

from __future__ import annotations

from k8smcp.policy.base import deny

MAX_PROGRAM = 4096

# name -> why it is refused
REFUSED: dict[str, str] = {
    "$ENV": "reads the server's environment",
    "env": "reads the server's environment",
    "input_filename": "names files on the server",
    "import": "loads a module from the server's disk",
    "include": "loads a module from the server's disk",
    "modulemeta": "reads modules from the server's disk",
    "get_search_list": "names directories on the server",
    "get_prog_origin": "names directories on the server",
    "get_jq_origin": "names directories on the server",
    "debug": "writes outside the answer",
    "stderr": "writes outside the answer",
}


def check_program(program: str) -> None:
    """Refuse a jq program that uses a builtin of ``REFUSED``.

    >>> check_program('.items[] | select(.spec.env) | {env: .metadata.name}')
    >>> check_program("$ENV.HOME")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    PolicyDeniedError: jq PROGRAM: `$ENV` reads the server's environment (rule filter); ...
    """
    if len(program) > MAX_PROGRAM:
        raise deny(
            "filter",
            "jq PROGRAM",
            f"is longer than {MAX_PROGRAM} characters",
            "write a shorter program; select with -l and --field-selector first",
        )
    for name in _code_names(program):
        if name in REFUSED:
            raise deny(
                "filter",
                "jq PROGRAM",
                f"`{name}` {REFUSED[name]}",
                "use jq on the input only (paths, select, map, length, keys, @csv)",
            )


def _code_names(program: str) -> list[str]:
    r"""Every identifier or ``$variable`` that stands as code (not a field, key or text).

    A small lexer: strings with their escapes and ``\(...)`` interpolations (whose
    content is code again), ``#`` comments, fields (``.name``), object keys (``name:``
    after ``{`` or ``,``).
    """
    names: list[str] = []
    i, n = 0, len(program)
    depth_stack: list[int] = []  # paren depth at which each open interpolation started
    depth = 0
    while i < n:
        ch = program[i]
        if ch == '"':
            i = _skip_string(program, i + 1, depth_stack, depth)
            continue
        if ch == "#":
            while i < n and program[i] != "\n":
                i += 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth_stack and depth == depth_stack[-1]:
                depth_stack.pop()
                i = _skip_string(program, i + 1, depth_stack, depth)
                continue
        if ch == "$" or ch.isalpha() or ch == "_":
            start = i
            prefix = ""
            if ch == "$":  # jq 1.6 reads `$` and the name as two tokens: `$ ENV` is `$ENV`
                prefix = "$"
                i = _skip_space(program, i + 1)
                if i >= n or not (program[i].isalpha() or program[i] == "_"):
                    continue
            word = i
            i += 1
            while i < n and (program[i].isalnum() or program[i] == "_" or _ns(program, i)):
                i += 1
            name = prefix + program[word:i]
            before = program[:start].rstrip()
            after = program[i:].lstrip()
            dots = program[max(0, start - 2) : start]
            is_field = dots.endswith(".") and dots != ".."
            is_key = (
                not name.startswith("$")
                and after.startswith(":")
                and not after.startswith("::")
                and before.endswith(("{", ","))
            )
            if not is_field and not is_key:
                names.append(name)
            continue
        i += 1
    return names


def _ns(program: str, i: int) -> bool:
    """``::`` inside a name (``mod::fn``) belongs to it; a single ``:`` does not."""
    return program.startswith("::", i) or (program[i] == ":" and program[i - 1] == ":")


def _skip_space(program: str, i: int) -> int:
    """Index of the next character that is neither blank nor in a ``#`` comment."""
    n = len(program)
    while i < n:
        if program[i].isspace():
            i += 1
        elif program[i] == "#":
            while i < n and program[i] != "\n":
                i += 1
        else:
            break
    return i


def _skip_string(program: str, i: int, depth_stack: list[int], depth: int) -> int:
    r"""Index after a string's closing quote, or of the code inside ``\(`` (pushed)."""
    n = len(program)
    while i < n:
        ch = program[i]
        if ch == "\\" and i + 1 < n:
            if program[i + 1] == "(":
                # code until the matching ")", then the string goes on
                depth_stack.append(depth)
                return i + 1  # the "(" is read as code and raises the depth
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return n
