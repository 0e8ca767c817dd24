"""The tool catalog: one ToolSpec per CLI (``k8smcp.tools.spec``), and the registry.

Registering a tool is one line: a built-in tool is a module of this package named in
``BUILTIN`` (its ``SPEC``); a plugin is an entry point in the ``k8smcp.tools`` group of
its own distribution, naming its spec::

    [project.entry-points."k8smcp.tools"]
    mytool = "mypackage.mytool:SPEC"

The entry point's name must be the spec's name. Nothing else in k8smcp names a tool: the
policy, the redaction, the MCP tools, the REST routes and the ``--<tool>-bin`` options
(``bin_options``) all come from here. Specs load on first use, so importing this
package (``k8smcp --help``) does not import the grammars.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from dataclasses import dataclass

from k8smcp.errors import UnknownToolError
from k8smcp.tools.spec import ToolSpec, bin_env

__all__ = ["BUILTIN", "GROUP", "BinOption", "ToolSpec", "bin_options", "catalog", "find_tool"]
__all__ += ["get_tool", "tool_names"]

GROUP = "k8smcp.tools"
BUILTIN = ("kubectl", "helm", "istioctl", "argocd")

_catalog: dict[str, ToolSpec] | None = None


@dataclass(frozen=True, slots=True)
class BinOption:
    """The ``--<tool>-bin`` option of one tool, as the CLI declares it."""

    tool: str
    flag: str  # --kubectl-bin
    param: str  # kubectl_bin
    envvar: str  # K8SMCP_KUBECTL_BIN
    help: str


def tool_names() -> tuple[str, ...]:
    """Every registered tool's name, without loading a spec (cheap: for option tables)."""
    return (*BUILTIN, *(name for name in _plugins() if name not in BUILTIN))


def bin_options() -> list[BinOption]:
    """The ``--<tool>-bin`` options, one per registered tool."""
    return [
        BinOption(
            tool=name,
            flag=f"--{name}-bin",
            param=f"{name.replace('-', '_')}_bin",
            envvar=bin_env(name),
            help=f"{name} binary (a path, or a name looked up on PATH).",
        )
        for name in tool_names()
    ]


def catalog() -> dict[str, ToolSpec]:
    """Every tool's spec by name: the built-ins in ``BUILTIN`` order, then plugins."""
    global _catalog
    if _catalog is None:
        _catalog = _load()
    return _catalog


def find_tool(name: str) -> ToolSpec | None:
    """The spec of the tool called ``name``, or None.

    A built-in name is never a plugin's, so before the catalog is loaded only that
    tool's module is (``run kubectl`` does not load helm's, istioctl's and argocd's).
    """
    if _catalog is None and name in BUILTIN:
        return _spec(name, _builtin(name))
    return catalog().get(name)


def get_tool(name: str) -> ToolSpec:
    """The spec of the tool called ``name``.

    Raises:
        UnknownToolError: listing the tools there are.
    """
    spec = find_tool(name)
    if spec is None:
        raise UnknownToolError(
            f"unknown tool {name!r}: the tools are {', '.join(catalog())}", tool=name
        )
    return spec


def __getattr__(name: str) -> dict[str, ToolSpec]:
    if name == "TOOLS":  # the catalog, loaded on first use
        return catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plugins() -> dict[str, str]:
    """Entry point name -> its value (``module:attribute``), not loaded.

    Looked up once per ``sys.path``: a ``run`` asks three times (its options, their
    values, the catalog), and each look reads every distribution's entry points.
    """
    return _plugins_on(tuple(sys.path))


@functools.lru_cache(maxsize=1)
def _plugins_on(path: tuple[str, ...]) -> dict[str, str]:
    if not _group_declared(path):
        return {}
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def _group_declared(path: tuple[str, ...]) -> bool:
    """Whether any distribution on ``path`` declares the group.

    A cheap look first: importing importlib.metadata alone costs ``k8smcp --help``
    10-30 ms, which no one should pay for plugins they do not have.
    """
    header = f"[{GROUP}]"
    for entry in path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(entry, name, "entry_points.txt")) as file:
                        if header in file.read():
                            return True
                except OSError:
                    continue
    return False


def _load() -> dict[str, ToolSpec]:
    found: dict[str, ToolSpec] = {}
    refs = {name: _builtin(name) for name in BUILTIN}
    refs.update({k: v for k, v in _plugins().items() if k not in refs})
    for name, ref in refs.items():
        found[name] = _spec(name, ref)
    return found


def _builtin(name: str) -> str:
    """The reference (``module:attribute``) of the built-in tool ``name``'s spec."""
    return f"{__name__}.{name}:SPEC"


def _spec(name: str, ref: str) -> ToolSpec:
    """The spec ``ref`` (``module:attribute``) names, checked to be the tool ``name``'s."""
    module, _, attribute = ref.partition(":")
    spec = getattr(importlib.import_module(module), attribute or "SPEC")
    if not isinstance(spec, ToolSpec) or spec.name != name:
        raise TypeError(f"{GROUP} entry point {name!r} ({ref}) is not the ToolSpec {name!r}")
    return spec
