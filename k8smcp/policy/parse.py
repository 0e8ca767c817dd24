"""Split an argument list the way the CLI's flag parser (cobra and pflag) will.

The parse finds the command path (``config view``, ``create secret generic``), every
flag in every spelling (``--server=x``, ``--server x``, ``-s x``, ``-sx``, ``-s=x``,
bundles like ``-As``), the positionals, and whatever follows ``--``. Where our reading
could differ from the CLI's, it records why, so the policy can refuse instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from k8smcp.policy.grammar import Grammar, Path, Tree, normalize


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag as given."""

    name: str  # normalized long name ("server"), or "-x" for a letter we do not know
    spelled: str  # as written, without its value: "--server", "-s"
    value: str | None  # inline or next-argument value; None when it has none
    early: bool  # seen while the command path was still open (before verb/subcommand)


@dataclass(slots=True)
class Parsed:
    """The structure of one command line."""

    path: Path = ()
    flags: list[Flag] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)  # after the path, before "--"
    rest: list[str] = field(default_factory=list)  # after "--"
    dashdash: bool = False
    unknown_command: str | None = None  # a word where a known (sub)command must stand
    dash_value: Flag | None = None  # a value-taking flag followed by a "-..." argument
    early_unknown: Flag | None = None  # a flag before the command not valid there

    def has(self, *names: str) -> bool:
        """True when any flag called one of ``names`` is set (and not set to false)."""
        return any(f.name in names and not is_false(f.value) for f in self.flags)


def is_false(value: str | None) -> bool:
    """True for the spellings Go's strconv.ParseBool reads as false."""
    return value is not None and value in ("0", "f", "F", "false", "FALSE", "False")


def parse(grammar: Grammar, args: list[str]) -> Parsed:
    """Parse ``args`` (without the tool name) with ``grammar``."""
    out = Parsed()
    node: Tree = grammar.commands
    open_ = True  # still looking for (sub)commands
    i = 0
    n = len(args)

    def add(flag: Flag) -> None:
        out.flags.append(flag)
        if flag.early and out.early_unknown is None and not _allowed_early(grammar, out.path, flag):
            out.early_unknown = flag

    def next_value(flag_spelled: str, name: str) -> str | None:
        nonlocal i
        if i >= n:
            return None
        candidate = args[i]
        if candidate.startswith("-") and candidate != "-":
            # pflag would take it as the value; we refuse the ambiguity instead
            if out.dash_value is None:
                out.dash_value = Flag(name, flag_spelled, None, open_)
            return None
        i += 1
        return candidate

    while i < n:
        arg = args[i]
        i += 1
        if arg == "--":
            out.dashdash = True
            out.rest = args[i:]
            break
        if arg.startswith("--") and len(arg) > 2:
            raw, eq, inline = arg[2:].partition("=")
            name = normalize(raw.lstrip("-"))
            value: str | None = inline if eq else None
            if not eq and grammar.takes_value(name):
                value = next_value("--" + raw, name)
            add(Flag(name, "--" + raw, value, open_))
        elif arg.startswith("-") and len(arg) > 1:
            shorts = grammar.shorts(out.path)
            body = arg[1:]
            j = 0
            while j < len(body):
                letter = body[j]
                long = shorts.get(letter)
                name = long if long is not None else "-" + letter
                if body[j + 1 : j + 2] == "=":
                    add(Flag(name, "-" + letter, body[j + 2 :], open_))
                    break
                if long is not None and grammar.takes_value(long):
                    inline_value = body[j + 1 :]
                    if (
                        not inline_value
                        and j > 0
                        and open_
                        and i < n
                        and grammar.resolve(out.path, args[i]) in node
                        and out.early_unknown is None
                    ):
                        # pflag takes the next argument (a command name) as the value, but
                        # cobra, finding the command, only skips values of a lone "-x"
                        out.early_unknown = Flag(name, arg, None, open_)
                    value = inline_value or next_value("-" + letter, long)
                    add(Flag(name, "-" + letter, value, open_))
                    break
                add(Flag(name, "-" + letter, None, open_))
                j += 1
        else:
            if open_ and node:
                word = grammar.resolve(out.path, arg)
                if word in node:
                    out.path = (*out.path, word)
                    node = node[word]
                    open_ = bool(node)
                    continue
                if not out.path or out.path in grammar.strict_groups:
                    out.unknown_command = arg
            open_ = False
            out.positionals.append(arg)
    return out


def _allowed_early(grammar: Grammar, path: Path, flag: Flag) -> bool:
    return grammar.is_global(flag.name) or flag.name in grammar.group_flags.get(path, ())
