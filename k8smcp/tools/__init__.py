"""The tool catalog: one ToolSpec per CLI, registered here as a plugin would register.

A ToolSpec says which binary a tool runs, how to teach a model to use it, how to ask the
binary for its version and which directories of its own it must find inside the private
per-call home.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from k8smcp import binaries
from k8smcp.errors import BinaryNotFoundError, UnknownToolError


def _no_env(home: Path) -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One CLI that k8smcp can run."""

    name: str
    title: str
    description: str
    version_args: tuple[str, ...]
    install_hint: str
    # the flag that selects a namespace when no kubeconfig context can carry it
    namespace_flag: str = "--namespace"
    # tool-specific variables pointing its config and cache dirs inside the call's home
    env: Callable[[Path], dict[str, str]] = field(default=_no_env)
    # confined children may open TCP connections to the egress proxy only (k8smcp.confine);
    # False for a CLI that serves itself on a random loopback port, which port rules can't allow
    confine_tcp: bool = True

    @property
    def bin_env(self) -> str:
        """The variable that overrides where the binary is: K8SMCP_<TOOL>_BIN."""
        return f"K8SMCP_{self.name.upper()}_BIN"

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


def _load() -> dict[str, ToolSpec]:
    from k8smcp.tools import argocd, helm, istioctl, kubectl

    return {spec.name: spec for spec in (kubectl.SPEC, helm.SPEC, istioctl.SPEC, argocd.SPEC)}


TOOLS: dict[str, ToolSpec] = _load()


def get_tool(name: str) -> ToolSpec:
    """The spec of the tool called ``name``.

    Raises:
        UnknownToolError: listing the tools there are.
    """
    try:
        return TOOLS[name]
    except KeyError:
        raise UnknownToolError(
            f"unknown tool {name!r}: the tools are {', '.join(TOOLS)}", tool=name
        ) from None
