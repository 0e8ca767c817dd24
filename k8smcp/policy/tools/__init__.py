"""The built-in tools' policy tables: one module per CLI.

Each has a GRAMMAR, the server-level RULES and the hooks of its special cases. Each tool's ToolSpec
(``k8smcp.tools.<tool>``) refers to them; nothing here is a registry.
"""
