"""Filter grammars: what a pipe stage after the CLI (``| grep x``, ``| jq .items``) may be.

Eight filters, each with an allowlist of options read the way GNU getopt_long reads
them (clusters ``-iv``, attached values ``-n5``/``-A3``, ``--name=value`` or ``--name
value``, options after operands, ``--``); ``head``/``tail`` also take ``-20``. Anything
else is refused (rule ``filter``), in particular every way to touch the server beyond
the input: file operands (a filter reads the previous stage only: ``uniq IN OUT`` would
write OUT), options that write (``sort -o``), read files (``grep -f``,
``--files0-from``, ``--random-source``), run programs (``sort --compress-program``),
follow (``tail -f``), or backtrack without bound (``grep -P``, back-references); jq
programs are read by ``policy.jq``. Long options must be spelled whole: GNU would
accept ``--comp`` for ``--compress-program``.

The check returns each stage as the argument list that will run: the options in their
canonical spelling, values attached (``--lines=5``), and the pattern or program placed
where no option can be read from it. What runs is what was checked, never the caller's
spelling.

    >>> [f.argv for f in check_filters([["grep", "-iv", "running"], ["head", "-5"]])]
    [('grep', '--ignore-case', '--invert-match', '--regexp=running'), ('head', '--lines=5')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from k8smcp.policy.base import deny, shown
from k8smcp.policy.jq import check_program

MAX_STAGES = 8
MAX_PATTERN = 1024
_NO_FILES = "it reads the output of the stage before it; give no file"
_SHELL_WORDS = frozenset(
    {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "<<<", "|&", "&>", "&>>"}
)

Check = Callable[[str, str], str]  # (where, value) -> the value to pass, or raise deny


@dataclass(frozen=True, slots=True)
class Opt:
    """One allowed option: how it is passed on, and what its value may be (None: none)."""

    canonical: str
    value: Check | None = None
    attach: bool = True  # --name=value (GNU); jq wants --name value
    nargs: int = 1  # jq's --arg NAME VALUE takes two


@dataclass(frozen=True, slots=True)
class FilterGrammar:
    """The options of one filter."""

    name: str
    options: dict[str, Opt]  # spellings ("-i", "--ignore-case") -> option
    refused: dict[str, str] = field(default_factory=dict)  # spelling -> why
    operand: str | None = None  # the one operand it takes (grep PATTERN, jq PROGRAM)
    numeric: str | None = None  # `-20` means this option's value (head and tail)


@dataclass(frozen=True, slots=True)
class Filter:
    """A checked stage: the filter's name and the arguments it will get."""

    name: str
    argv: tuple[str, ...]


def check_filters(stages: list[list[str]]) -> list[Filter]:
    """Check each stage (``["grep", "-i", "x"]``) and return what will run.

    Raises:
        PolicyDeniedError: rule ``filter`` (or ``shell``), naming the stage and option.
    """
    if len(stages) > MAX_STAGES:
        raise deny("filter", "the pipeline", f"has more than {MAX_STAGES} filters", "use fewer")
    return [_check_stage(index + 1, stage) for index, stage in enumerate(stages)]


def _check_stage(number: int, stage: list[str]) -> Filter:
    if not stage:
        raise deny(
            "filter",
            f"pipe stage {number}",
            "is empty",
            f"write a filter after each `|`: {', '.join(FILTERS)}",
        )
    name, args = stage[0], stage[1:]
    for arg in args:
        if arg in _SHELL_WORDS or "\x00" in arg or "`" in arg or "$(" in arg:
            raise deny(
                "shell",
                f"{shown(name, 12)} (pipe stage {number})",
                "has a shell operator, a substitution (` or $( ) or a NUL byte, but no shell runs",
                "use `|` between filters only: no redirections, `;`, `&&` or `$(...)`",
            )
    grammar = FILTERS.get(name)
    if grammar is None:
        raise deny(
            "filter",
            f"pipe stage {number}",
            f"{shown(name, 24)!r} is not a filter k8smcp runs",
            f"pipe into one of {', '.join(FILTERS)} (no shell, awk, sed, xargs or base64)",
        )
    return Filter(name, tuple(_parse(grammar, args)))


def _parse(grammar: FilterGrammar, args: list[str]) -> list[str]:
    out: list[str] = [grammar.name]
    operands: list[str] = []
    i, n = 0, len(args)
    only_operands = False
    while i < n:
        arg = args[i]
        i += 1
        if only_operands or arg == "-" or not arg.startswith("-"):
            operands.append(arg)
        elif arg == "--":
            only_operands = True
        elif grammar.numeric and re.fullmatch(r"-\d+", arg):
            out.append(_value(grammar, grammar.numeric, grammar.options[grammar.numeric], arg[1:]))
        elif arg.startswith("--"):
            spelled, eq, inline = arg.partition("=")
            opt = _option(grammar, spelled)
            if opt.value is None:
                if eq:
                    raise deny("filter", _where(grammar, spelled), "takes no value", "drop it")
                out.append(opt.canonical)
                continue
            i = _take(grammar, spelled, opt, [inline] if eq else [], args, i, out)
        else:
            j = 1
            while j < len(arg):
                spelled = "-" + arg[j]
                opt = _option(grammar, spelled)
                j += 1
                if opt.value is None:
                    out.append(opt.canonical)
                    continue
                i = _take(grammar, spelled, opt, [arg[j:]] if j < len(arg) else [], args, i, out)
                break
    return out + _operands(grammar, operands, out)


def _take(
    grammar: FilterGrammar,
    spelled: str,
    opt: Opt,
    values: list[str],
    args: list[str],
    i: int,
    out: list[str],
) -> int:
    """Add ``opt`` with its value(s) to ``out``: the inline one, then the next arguments."""
    while len(values) < opt.nargs:
        if i >= len(args):
            raise deny("filter", _where(grammar, spelled), "needs a value", "give one")
        values.append(args[i])
        i += 1
    out.extend(_value(grammar, spelled, opt, *values).split("\0"))
    return i


def _option(grammar: FilterGrammar, spelled: str) -> Opt:
    why = grammar.refused.get(spelled)
    if why is not None:
        raise deny("filter", _where(grammar, spelled), why, "filter the input only")
    opt = grammar.options.get(spelled)
    if opt is None:
        allowed = " ".join(sorted({s for s in grammar.options if len(s) == 2}))
        raise deny(
            "filter",
            _where(grammar, spelled),
            "is not an option k8smcp allows here (long options are spelled whole)",
            f"use {allowed}" if allowed else "drop it",
        )
    return opt


def _value(grammar: FilterGrammar, spelled: str, opt: Opt, *values: str) -> str:
    """The option with its value(s), checked; several arguments are joined by NUL."""
    assert opt.value is not None
    where = _where(grammar, spelled)
    checked = [opt.value(where, v) for v in values[-1:]]
    if opt.nargs == 2:  # jq's --arg NAME VALUE
        checked.insert(0, _jq_name(where, values[0]))
    if opt.nargs > 1 or not opt.attach:
        return "\0".join((opt.canonical, *checked))
    return f"{opt.canonical}={checked[0]}"


def _operands(grammar: FilterGrammar, operands: list[str], options: list[str]) -> list[str]:
    where = grammar.name
    if grammar.name == "grep" and any(o.startswith("--regexp=") for o in options):
        wanted = 0
    else:
        wanted = 1 if grammar.operand else 0
    if len(operands) > wanted:
        extra = operands[wanted]
        raise deny(
            "filter",
            f"{where} {shown(extra, 24)!r}",
            f"is a file operand, and {_NO_FILES}",
            "drop it" if wanted == 0 else f"give only the {grammar.operand}",
        )
    if len(operands) < wanted:
        raise deny("filter", where, f"needs a {grammar.operand}", f"e.g. {_EXAMPLES[where]}")
    if not operands:
        return []
    if grammar.name == "grep":
        return [f"--regexp={_pattern(f'{where} PATTERN', operands[0])}"]
    return _jq_program(operands[0])


def _where(grammar: FilterGrammar, spelled: str) -> str:
    return f"{grammar.name} {shown(spelled, 24)}"


# value checks


def _count(low: int, high: int, *, signs: str = "") -> Check:
    pattern = re.compile(rf"[{re.escape(signs)}]?\d{{1,9}}" if signs else r"\d{1,9}")

    def check(where: str, value: str) -> str:
        if not pattern.fullmatch(value) or not low <= abs(int(value)) <= high:
            raise deny(
                "filter",
                where,
                f"needs a whole number from {low} to {high}",
                "e.g. 20" + (" or +5 (from line 5 on)" if "+" in signs else ""),
            )
        return value

    return check


def _pattern(where: str, value: str) -> str:
    if len(value) > MAX_PATTERN:
        raise deny("filter", where, f"is longer than {MAX_PATTERN} characters", "shorten it")
    if re.search(r"\\[1-9]", value):
        raise deny(
            "filter",
            where,
            "has a back-reference (\\1 ... \\9), which can take exponential time",
            "match without back-references",
        )
    for low, high in re.findall(r"\{(\d*),?(\d*)\}", value):
        if any(bound and int(bound) > 255 for bound in (low, high)):
            raise deny(
                "filter", where, "repeats more than 255 times", "use a smaller count, or `+`/`*`"
            )
    return value


def _char(where: str, value: str) -> str:
    if len(value) != 1:
        raise deny("filter", where, "needs exactly one character", "e.g. -d ' ' or -t ,")
    return value


def _text(where: str, value: str) -> str:
    if len(value) > 64:
        raise deny("filter", where, "is longer than 64 characters", "shorten it")
    return value


_LIST = re.compile(r"(\d{1,6}(-\d{0,6})?|-\d{1,6})(,(\d{1,6}(-\d{0,6})?|-\d{1,6}))*")
_KEY = re.compile(r"\d{1,4}(\.\d{1,4})?[bdfgiMhnRrV]*(,\d{1,4}(\.\d{1,4})?[bdfgiMhnRrV]*)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _list(where: str, value: str) -> str:
    if not _LIST.fullmatch(value):
        raise deny("filter", where, "needs a list of fields like 1,3 or 2-4", "e.g. -f 1,3")
    return value


def _key(where: str, value: str) -> str:
    if not _KEY.fullmatch(value):
        raise deny("filter", where, "needs a key like 2, 3n or 2,2", "e.g. -k 3n")
    return value


def _jq_name(where: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise deny("filter", where, "needs a variable name, then its value", "e.g. --arg ns web")
    return value


def _jq_arg(where: str, value: str) -> str:
    if len(value) > MAX_PATTERN:
        raise deny("filter", where, f"is longer than {MAX_PATTERN} characters", "shorten it")
    return value


def _jq_json(where: str, value: str) -> str:
    try:
        json.loads(_jq_arg(where, value))
    except ValueError:
        raise deny("filter", where, "needs a JSON value", "e.g. --argjson n 3") from None
    return value


def _jq_program(program: str) -> list[str]:
    check_program(program)
    if program.startswith("-"):
        raise deny("filter", "jq PROGRAM", "starts with '-', like an option", "wrap it: (-1)")
    return [program]


def _opts(*entries: tuple[str, Opt]) -> dict[str, Opt]:
    """Spellings to options: ``("-i --ignore-case", Opt(...))`` gives both spellings."""
    return {spelled: opt for spellings, opt in entries for spelled in spellings.split()}


def _flag(spellings: str, canonical: str | None = None) -> tuple[str, Opt]:
    return spellings, Opt(canonical or spellings.split()[-1])


def _valued(
    spellings: str, check: Check, *, attach: bool = True, nargs: int = 1
) -> tuple[str, Opt]:
    return spellings, Opt(spellings.split()[-1], check, attach, nargs)


_LINES = _count(0, 10_000_000, signs="-")
_FILE = "reads a file on the server"
_WRITE = "writes a file on the server"
_RUN = "runs another program"

FILTERS: dict[str, FilterGrammar] = {
    g.name: g
    for g in (
        FilterGrammar(
            "grep",
            _opts(
                _flag("-i -y --ignore-case", "--ignore-case"),
                _flag("-v --invert-match"),
                _flag("-c --count"),
                _flag("-n --line-number"),
                _flag("-w --word-regexp"),
                _flag("-x --line-regexp"),
                _flag("-o --only-matching"),
                _flag("-E --extended-regexp"),
                _flag("-F --fixed-strings"),
                _flag("-G --basic-regexp"),
                _flag("-s --no-messages"),
                _flag("-q --quiet --silent", "--quiet"),
                _flag("-a --text"),
                _flag("-h --no-filename"),
                _valued("-e --regexp", _pattern),
                _valued("-m --max-count", _count(0, 10_000_000)),
                _valued("-A --after-context", _count(0, 1000)),
                _valued("-B --before-context", _count(0, 1000)),
                _valued("-C --context", _count(0, 1000)),
            ),
            refused={
                "-f": _FILE,
                "--file": _FILE,
                "-r": _FILE,
                "-R": _FILE,
                "--recursive": _FILE,
                "--dereference-recursive": _FILE,
                "--include": _FILE,
                "--exclude": _FILE,
                "--exclude-from": _FILE,
                "--exclude-dir": _FILE,
                "-d": _FILE,
                "--directories": _FILE,
                "-D": _FILE,
                "--devices": _FILE,
                "-P": "uses Perl regexes, which can backtrack without bound (use -E)",
                "--perl-regexp": "uses Perl regexes, which can backtrack without bound (use -E)",
            },
            operand="PATTERN",
        ),
        FilterGrammar(
            "head",
            _opts(
                _valued("-n --lines", _LINES),
                _valued("-c --bytes", _LINES),
                _flag("-q --quiet --silent", "--quiet"),
            ),
            numeric="--lines",
        ),
        FilterGrammar(
            "tail",
            _opts(
                _valued("-n --lines", _count(0, 10_000_000, signs="+-")),
                _valued("-c --bytes", _count(0, 10_000_000, signs="+-")),
                _flag("-q --quiet --silent", "--quiet"),
            ),
            refused={
                "-f": "follows forever (the command already ended)",
                "-F": "follows forever (the command already ended)",
                "--follow": "follows forever (the command already ended)",
                "--retry": "follows forever (the command already ended)",
                "--pid": "waits for a process on the server",
                "-s": "waits between reads",
                "--sleep-interval": "waits between reads",
            },
            numeric="--lines",
        ),
        FilterGrammar(
            "wc",
            _opts(
                _flag("-l --lines"),
                _flag("-w --words"),
                _flag("-c --bytes"),
                _flag("-m --chars"),
                _flag("-L --max-line-length"),
            ),
            refused={"--files0-from": _FILE},
        ),
        FilterGrammar(
            "sort",
            _opts(
                _flag("-r --reverse"),
                _flag("-n --numeric-sort"),
                _flag("-h --human-numeric-sort"),
                _flag("-g --general-numeric-sort"),
                _flag("-V --version-sort"),
                _flag("-M --month-sort"),
                _flag("-u --unique"),
                _flag("-f --ignore-case"),
                _flag("-b --ignore-leading-blanks"),
                _flag("-d --dictionary-order"),
                _flag("-i --ignore-nonprinting"),
                _flag("-s --stable"),
                _flag("-c --check"),
                _valued("-k --key", _key),
                _valued("-t --field-separator", _char),
            ),
            refused={
                "-o": _WRITE,
                "--output": _WRITE,
                "-T": _WRITE,
                "--temporary-directory": _WRITE,
                "--compress-program": _RUN,
                "--files0-from": _FILE,
                "--random-source": _FILE,
                "-m": _FILE,
                "--merge": _FILE,
                "-S": "sets its own memory size (k8smcp sets the limits)",
                "--buffer-size": "sets its own memory size (k8smcp sets the limits)",
                "--parallel": "starts threads (k8smcp sets the limits)",
            },
        ),
        FilterGrammar(
            "uniq",
            _opts(
                _flag("-c --count"),
                _flag("-d --repeated"),
                _flag("-u --unique"),
                _flag("-i --ignore-case"),
                _valued("-f --skip-fields", _count(0, 1000)),
                _valued("-s --skip-chars", _count(0, 10_000)),
                _valued("-w --check-chars", _count(0, 10_000)),
            ),
        ),
        FilterGrammar(
            "cut",
            _opts(
                _valued("-d --delimiter", _char),
                _valued("-f --fields", _list),
                _valued("-c --characters", _list),
                _valued("-b --bytes", _list),
                _flag("-s --only-delimited"),
                _flag("--complement"),
                _valued("--output-delimiter", _text),
            ),
        ),
        FilterGrammar(
            "jq",
            _opts(
                _flag("-r --raw-output"),
                _flag("-j --join-output"),
                _flag("-c --compact-output"),
                _flag("-S --sort-keys"),
                _flag("-s --slurp"),
                _flag("-n --null-input"),
                _flag("-R --raw-input"),
                _flag("-e --exit-status"),
                _flag("-a --ascii-output"),
                _flag("-M --monochrome-output"),
                _flag("--tab"),
                _flag("--stream"),
                _flag("--seq"),
                _valued("--indent", _count(0, 7), attach=False),
                _valued("--arg", _jq_arg, nargs=2),
                _valued("--argjson", _jq_json, nargs=2),
            ),
            refused={
                "-f": _FILE,
                "--from-file": _FILE,
                "-L": _FILE,
                "--rawfile": _FILE,
                "--slurpfile": _FILE,
                "--args": "takes operands that could name files",
                "--jsonargs": "takes operands that could name files",
                "--run-tests": _FILE,
            },
            operand="PROGRAM",
        ),
    )
}

_EXAMPLES = {
    "grep": "grep -i error",
    "jq": "jq '.items[].metadata.name'",
}
