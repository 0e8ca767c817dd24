"""A throwaway fifth CLI, added the way ARCHITECTURE.md's "Adding a tool" says: its own
files and one registry line, nothing in k8smcp touched.

``write_fifth_tool(root)`` writes, under ``root``:

- ``bin/fifth``: the CLI itself, a tiny script. ``fifth get things`` prints what it was
  given (its arguments and the server of the kubeconfig k8smcp wrote for it) as JSON;
  ``fifth get secret`` prints a Secret (redaction must find it); ``fifth version``.
- ``site/k8smcp_fifth.py``: its ToolSpec: grammar, refusal tables, an example, and
  hooks: a server-level check (``get everything`` is refused) and the Secret hooks.
- ``site/k8smcp_fifth-0.1.dist-info/``: the distribution's metadata with the one
  registry line, an entry point in the ``k8smcp.tools`` group, as a plugin package
  installed by pip would have it.

Put ``site`` on PYTHONPATH and name ``bin/fifth`` in K8SMCP_FIFTH_BIN (or put ``bin`` on
PATH), and every k8smcp door has a fifth tool.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

SECRET_VALUE = "ZmlmdGgtc2VjcmV0LXZhbHVl"  # base64 of fifth-secret-value

CLI = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    args = sys.argv[1:]
    if args[:1] == ["version"]:
        print("fifth 0.1.0")
    elif args[:2] == ["get", "secret"]:
        print(json.dumps({{"kind": "Secret", "metadata": {{"name": "db"}},
                          "data": {{"password": "{secret}"}}}}, indent=4))
    elif args[:1] == ["get"]:
        config = os.environ.get("KUBECONFIG", "")
        server = None
        if os.path.exists(config):
            data = json.load(open(config))
            current = data["current-context"]
            context = next(c for c in data["contexts"] if c["name"] == current)["context"]
            cluster = next(c for c in data["clusters"] if c["name"] == context["cluster"])
            server = cluster["cluster"]["server"]
        print(json.dumps({{"fifth": args, "server": server}}))
    else:
        sys.stderr.write("fifth: unknown command\\n")
        sys.exit(2)
    """
)

SPEC = textwrap.dedent(
    '''\
    """fifth: a throwaway CLI registered as a plugin (tests/fifth_tool.py)."""

    from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words
    from k8smcp.policy.hooks import Command, Context, Refusal
    from k8smcp.tools.spec import ToolSpec

    GRAMMAR = Grammar(
        tool="fifth",
        commands=tree("get version"),
        aliases={(): {"g": "get"}},
        global_bool=words("help"),
        global_value=words("namespace token v"),
        local_bool=words("all"),
        local_value=words("output"),
        global_shorts={"n": "namespace", "h": "help"},
        local_shorts={"o": "output"},
    )

    RULES = ToolRules(
        target=frozenset({"token"}),
        impersonation=frozenset(),
        binary=frozenset(),
        stdin_files=frozenset(),
        url_files=frozenset(),
        files=frozenset(),
        url_flags=frozenset(),
        interactive=frozenset(),
        denied={},
        read_only=paths("get", "version"),
        log_levels={"v": 3},
    )


    def no_everything(ctx: Context) -> None:
        if "everything" in ctx.parsed.positionals:
            raise ctx.deny("verb-denied", "fifth get everything", "is too much", "name a thing")


    def secret_output(command: Command) -> Refusal | None:
        if command.parsed.path == ("get",) and "secret" in command.parsed.positionals:
            fmt = next((f.value for f in command.parsed.flags if f.name == "output"), None)
            if fmt == "text":
                return ("-o text", "would print the Secret's values as text", "use -o json")
        return None


    def expects_secrets(command: Command) -> bool:
        return "secret" in command.parsed.positionals


    SPEC = ToolSpec(
        name="fifth",
        title="fifth",
        description="Run a fifth command against the cluster of the kubeconfig.",
        example="get things",
        version_args=("version",),
        install_hint="It is made by tests/fifth_tool.py.",
        grammar=GRAMMAR,
        rules=RULES,
        server_checks=(no_everything,),
        secret_output=secret_output,
        expects_secrets=expects_secrets,
    )
    '''
)

METADATA = "Metadata-Version: 2.1\nName: k8smcp-fifth\nVersion: 0.1\n"
ENTRY_POINTS = "[k8smcp.tools]\nfifth = k8smcp_fifth:SPEC\n"  # the one registry line


@dataclass(frozen=True)
class FifthTool:
    bin: Path  # directory with the `fifth` executable
    site: Path  # directory with the plugin module and its dist-info


def write_fifth_tool(root: Path) -> FifthTool:
    """Write the CLI, its spec and its registration under ``root``."""
    bin_dir = root / "bin"
    site = root / "site"
    dist = site / "k8smcp_fifth-0.1.dist-info"
    for path in (bin_dir, dist):
        path.mkdir(parents=True, exist_ok=True)
    cli = bin_dir / "fifth"
    cli.write_text(CLI.format(python=sys.executable, secret=SECRET_VALUE))
    cli.chmod(0o755)
    (site / "k8smcp_fifth.py").write_text(SPEC)
    (dist / "METADATA").write_text(METADATA)
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (dist / "RECORD").write_text("")
    return FifthTool(bin=bin_dir, site=site)
