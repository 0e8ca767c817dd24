"""The shapes of the per-CLI tables: Grammar (command line) and ToolRules (refusals).

Grammar says which commands and aliases a CLI has and which flags take values; ToolRules
says what the server level refuses. Each tool's ToolSpec (``k8smcp.tools``) carries
both; the built-in tools' tables live in ``policy/tools/``.

The tables follow the pinned versions (kubectl 1.37 from its ``--help``; helm v4.3,
istioctl 1.31-dev and argocd v3.6 from their sources). They need not list every flag:
the parser treats an unknown flag after the command as taking no value (so anything
after it is still checked), and refuses an unknown flag before the command, where a
wrong guess would change which command runs. Global flag tables must be complete.

Flag names are normalized: lower case, ``_`` as ``-`` (cobra CLIs map ``_`` to ``-``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Tree = Mapping[str, "Tree"]
Path = tuple[str, ...]


def tree(spec: str) -> dict[str, Tree]:
    """Parse ``"a b(c d(e)) f"`` into nested dicts: a command and its subcommands."""
    root: dict[str, Tree] = {}
    stack: list[dict[str, Tree]] = [root]
    last: str | None = None
    token = ""
    for ch in spec + " ":
        if ch in " \n()":
            if token:
                stack[-1][token] = {}
                last, token = token, ""
            if ch == "(":
                assert last is not None
                child: dict[str, Tree] = {}
                stack[-1][last] = child
                stack.append(child)
            elif ch == ")":
                stack.pop()
        else:
            token += ch
    return root


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


def normalize(name: str) -> str:
    """A flag name as the tables spell it: lower case, hyphens for underscores."""
    return name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class Grammar:
    """One CLI's command tree and flag tables."""

    tool: str
    commands: Mapping[str, Tree]
    # per parent path: alias -> canonical subcommand name
    aliases: Mapping[Path, Mapping[str, str]]
    global_bool: frozenset[str]
    global_value: frozenset[str]
    # flags of some command, after the command (union over commands). Flags that take a
    # value in one command and none in another are listed as bool (never consume).
    local_bool: frozenset[str]
    local_value: frozenset[str]
    global_shorts: Mapping[str, str]
    local_shorts: Mapping[str, str]
    # per command path (and everything under it): letter -> long name, where it differs
    # from local_shorts; longer paths win
    verb_shorts: Mapping[Path, Mapping[str, str]] = field(default_factory=dict)
    # flags a command group accepts before its subcommand, besides the globals
    group_flags: Mapping[Path, frozenset[str]] = field(default_factory=dict)
    # groups under which any positional must be a known subcommand (else: a plugin runs
    # or the parse is ambiguous); the root is always strict
    strict_groups: frozenset[Path] = frozenset()

    def takes_value(self, name: str) -> bool:
        """True when the long flag ``name`` consumes the next argument as its value."""
        if name in self.global_value:
            return True
        if name in self.global_bool or name in self.local_bool:
            return False
        return name in self.local_value

    def is_global(self, name: str) -> bool:
        """True for a flag every command accepts, also before the command."""
        return name in self.global_value or name in self.global_bool

    def is_known(self, name: str) -> bool:
        """True for any flag in the tables."""
        return self.is_global(name) or name in self.local_bool or name in self.local_value

    def shorts(self, path: Path) -> Mapping[str, str]:
        """Letter -> long name under the command ``path`` (empty: before any command)."""
        if not path:
            return self.global_shorts
        merged = dict(self.local_shorts)
        for end in range(1, len(path) + 1):
            merged.update(self.verb_shorts.get(path[:end], {}))
        merged.update(self.global_shorts)
        return merged

    def resolve(self, parent: Path, word: str) -> str:
        """The canonical name of subcommand ``word`` under ``parent`` (aliases resolved)."""
        return self.aliases.get(parent, {}).get(word, word)


@dataclass(frozen=True, slots=True)
class ToolRules:
    """What one CLI may not be given at server level."""

    target: frozenset[str]  # flags that change cluster, credentials or client config
    impersonation: frozenset[str]
    binary: frozenset[str]  # flags that run another program
    stdin_files: frozenset[str]  # path flags that accept `-` (and URLs if url_files)
    url_files: frozenset[str]  # of stdin_files: also accept a URL
    files: frozenset[str]  # path flags, no stdin
    url_flags: frozenset[str]  # flags whose value is a URL the CLI fetches
    interactive: frozenset[str]
    denied: dict[Path, tuple[str, str]]  # path -> (rule, what to do instead)
    read_only: frozenset[Path]  # paths (and everything under them) that cannot write
    # --set keys whose value is a path on the server (istioctl installPackagePath)
    set_path_keys: frozenset[str] = frozenset()
    # log-level flags -> the highest level that logs no API bodies (``-v``, ``--vmodule``)
    log_levels: Mapping[str, int] = field(default_factory=dict)


def paths(*specs: str) -> frozenset[Path]:
    """Command paths from strings: ``paths("get", "auth can-i")``."""
    return frozenset(tuple(spec.split()) for spec in specs)
