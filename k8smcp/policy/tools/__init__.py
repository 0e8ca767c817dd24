"""Per-CLI tables: one module per tool, each with a GRAMMAR and the server-level RULES.

Adding a tool here is adding a module with both, and listing it below.
"""

from __future__ import annotations

from k8smcp.policy.grammar import Grammar, ToolRules
from k8smcp.policy.tools import argocd, helm, istioctl, kubectl

_MODULES = (kubectl, helm, istioctl, argocd)
GRAMMARS: dict[str, Grammar] = {m.GRAMMAR.tool: m.GRAMMAR for m in _MODULES}
TOOL_RULES: dict[str, ToolRules] = {m.GRAMMAR.tool: m.RULES for m in _MODULES}
