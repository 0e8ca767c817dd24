"""What a tool's hooks get: the command parsed once, and the checks they may call.

A ToolSpec (``k8smcp.tools.spec``) carries the hooks of its CLI's special cases; the
policy calls them and never compares tool names. A hook is a function:

- ``checks`` / ``server_checks``: ``(ctx: Context) -> None``; raise ``ctx.deny(...)``
  to refuse, or call ``ctx.url`` / ``ctx.file`` for arguments that name a URL or a file.
- ``secret_output``: ``(command: Command) -> Refusal | None``, whether the command
  would print Secret values where the output redaction cannot find them.
- ``expects_secrets``: ``(command: Command) -> bool``, whether its output should be
  structured data that may hold Secrets (output that does not parse is then withheld).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from k8smcp.errors import PolicyDeniedError
from k8smcp.policy.address import HTTP_SCHEMES, Lookups, check_url, looks_like_url
from k8smcp.policy.base import Policy, deny
from k8smcp.policy.parse import Parsed, parse

if TYPE_CHECKING:
    from k8smcp.tools.spec import ToolSpec

# (where, problem, instead): a secret-output refusal, as deny() words it
Refusal = tuple[str, str, str]
STDIN_HINT = "send the content in the request's stdin and pass `-` instead"


@dataclass(frozen=True, slots=True)
class Command:
    """One command line of one tool, parsed once; every check reads this."""

    spec: ToolSpec
    args: list[str]
    parsed: Parsed
    stdin: str | None = None

    @property
    def tool(self) -> str:
        """The tool's name."""
        return self.spec.name

    def describe(self, path: tuple[str, ...] | None = None) -> str:
        """``tool path...``, for messages: ``kubectl config view``."""
        return " ".join((self.spec.name, *(self.parsed.path if path is None else path)))


def parse_command(spec: ToolSpec, args: list[str], stdin: str | None = None) -> Command:
    """``args`` (after the tool's name) parsed with the tool's grammar."""
    return Command(spec=spec, args=args, parsed=parse(spec.grammar, args), stdin=stdin)


@dataclass(slots=True)
class Context:
    """What a check hook sees: the policy, the command, and the checks it may call."""

    policy: Policy
    command: Command
    lookups: Lookups = field(default_factory=Lookups)

    @property
    def parsed(self) -> Parsed:
        """The parsed command line."""
        return self.command.parsed

    @staticmethod
    def deny(rule: str, where: str, problem: str, instead: str) -> PolicyDeniedError:
        """The refusal to raise (see ``k8smcp.policy.base.deny``)."""
        return deny(rule, where, problem, instead)

    def url(self, where: str, value: str, schemes: tuple[str, ...] = HTTP_SCHEMES) -> None:
        """Refuse a URL argument the policy does not allow (``allow_urls``, address)."""
        if not self.policy.allow_urls:
            raise deny(
                "url",
                where,
                "fetches a URL, and URL arguments are turned off on this server",
                "send the content through stdin",
            )
        check_url(self.policy, value, field=where, schemes=schemes, lookups=self.lookups)

    def file(self, where: str, value: str, *, stdin: bool, schemes: tuple[str, ...] = ()) -> None:
        """Refuse an argument naming a server file (``-`` with ``stdin``, URLs with ``schemes``)."""
        if stdin and value == "-":
            return
        if schemes and looks_like_url(value):
            self.url(where, value, schemes)
            return
        if self.policy.allow_local_files:
            return
        raise deny(
            "file-path",
            where,
            "names a file on the server, which k8smcp does not expose to callers",
            STDIN_HINT if stdin else "give the content inline",
        )
