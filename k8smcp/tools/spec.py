"""ToolSpec: the one description of a CLI k8smcp can run (a leaf module).

Everything k8smcp knows about a tool is in its ToolSpec: the binary and how to find it,
how to teach a model to use it (description, example), how to ask it for its version,
which directories of its own it must find inside the private per-call home, its command
grammar and refusal tables (``k8smcp.policy.grammar``), and hooks for the special cases
of its policy and of Secret handling (``k8smcp.policy.hooks``). The policy, the secret
redaction, the MCP server and the CLI read specs and never compare tool names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from k8smcp import binaries
from k8smcp.errors import BinaryNotFoundError

if TYPE_CHECKING:
    from k8smcp.policy.grammar import Grammar, ToolRules
    from k8smcp.policy.hooks import Command, Context, Refusal

    CheckHook = Callable[[Context], None]
    SecretOutputHook = Callable[[Command], Refusal | None]
    ExpectsSecretsHook = Callable[[Command], bool]


def bin_env(tool: str) -> str:
    """The variable that overrides where ``tool``'s binary is: K8SMCP_<TOOL>_BIN."""
    return f"K8SMCP_{tool.upper().replace('-', '_')}_BIN"


def _no_env(home: Path) -> dict[str, str]:
    return {}


def _never(command: Command) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One CLI that k8smcp can run."""

    name: str
    title: str
    description: str
    # one command (the arguments after the tool's name) a model can try first
    example: str
    version_args: tuple[str, ...]
    install_hint: str
    grammar: Grammar
    rules: ToolRules
    # the flag that selects a namespace when no kubeconfig context can carry it
    namespace_flag: str = "--namespace"
    # tool-specific variables pointing its config and cache dirs inside the call's home
    env: Callable[[Path], dict[str, str]] = field(default=_no_env)
    # confined children may open TCP connections to the egress proxy only (k8smcp.confine);
    # False for a CLI that serves itself on a random loopback port, which port rules can't allow
    confine_tcp: bool = True
    # policy hooks: at server level after the refused commands, and at every level
    # after the flags that name files (positionals that are files, charts, URLs)
    server_checks: tuple[CheckHook, ...] = ()
    checks: tuple[CheckHook, ...] = ()
    # with redaction on: why the command would print Secret values redaction cannot find
    secret_output: SecretOutputHook | None = None
    # whether its output should be structured data that may hold Secrets
    expects_secrets: ExpectsSecretsHook = field(default=_never)

    @property
    def bin_env(self) -> str:
        """The variable that overrides where the binary is: K8SMCP_<TOOL>_BIN."""
        return bin_env(self.name)

    def resolve_binary(self, overrides: Mapping[str, str]) -> str:
        """The absolute path of the binary: an override, beside k8smcp, or on PATH.

        Raises:
            BinaryNotFoundError: naming the tool and how to install it.
        """
        return self.find_binary(overrides).path

    def find_binary(self, overrides: Mapping[str, str]) -> binaries.Found:
        """The binary and why it was chosen (``k8smcp.binaries.find``).

        Raises:
            BinaryNotFoundError: naming the tool and how to install it.
        """
        wanted = overrides.get(self.name)
        found = binaries.find(self.name, wanted, self.bin_env)
        if found is None:
            where = f"{wanted!r} (from {self.bin_env})" if wanted else "PATH"
            raise BinaryNotFoundError(
                f"{self.name} is not installed: not found on {where}. {self.install_hint}",
                tool=self.name,
            )
        return found
