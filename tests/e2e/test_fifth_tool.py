"""A fifth CLI added with only its own files and one registry line works through every
door: ``k8smcp run`` and ``call`` as subprocesses, REST on a running ``serve``, and MCP
over stdio and streamable HTTP. Its binary comes through ``K8SMCP_FIFTH_BIN``, the
variable of the ``--fifth-bin`` option the CLI derives from the catalog.

The tool (tests/fifth_tool.py) is a tiny script with a ToolSpec in a plugin module,
registered by an entry point in its own dist-info, as ``pip install`` of a plugin
package leaves it; k8smcp finds it on PYTHONPATH. Nothing in k8smcp names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, b64, k8smcp_env, make_kubeconfig, run_k8smcp
from tests.fifth_tool import SECRET_VALUE, write_fifth_tool
from tests.integration.entrypoints import ENTRY_NAMES, SERVER_ENTRIES, Entry, open_entries

KUBECONFIG = b64(make_kubeconfig("https://127.0.0.1:1"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tool = write_fifth_tool(tmp_path_factory.mktemp("fifth"))
    # the binary through its --fifth-bin option's variable, which comes from the catalog
    return k8smcp_env(
        tmp_path_factory.mktemp("k8smcp-tmp"),
        PYTHONPATH=str(tool.site),
        K8SMCP_FIFTH_BIN=str(tool.bin / "fifth"),
    )


@pytest.fixture(scope="module")
def server(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(env=env, log=tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def entries(env: dict[str, str], server: Server) -> Iterator[dict[str, Entry]]:
    yield from open_entries(env, server.url)


@pytest.mark.parametrize("door", ENTRY_NAMES)
def test_the_fifth_tool_runs_with_the_callers_kubeconfig(entries: dict[str, Entry], door: str):
    outcome = entries[door]("fifth", "get things -o json", kubeconfig=KUBECONFIG)
    assert outcome.ok, outcome
    answer = json.loads(outcome.stdout)
    assert answer == {"fifth": ["get", "things", "-o", "json"], "server": "https://127.0.0.1:1"}


@pytest.mark.parametrize("door", ENTRY_NAMES)
def test_its_hooks_hold_at_every_door(entries: dict[str, Entry], door: str):
    entry = entries[door]
    server_level = door in SERVER_ENTRIES
    refused = entry("fifth", "get everything", kubeconfig=KUBECONFIG)  # its server hook
    assert (refused.error == "denied") is server_level, refused
    secret = entry("fifth", "get secret", kubeconfig=KUBECONFIG)  # redaction, server level
    assert secret.ok
    assert (SECRET_VALUE not in secret.stdout) is server_level
    assert entry("fifth", "--token x get things", kubeconfig=KUBECONFIG).error == (
        "denied" if server_level else None
    )


def test_it_is_in_the_catalog_the_rest_routes_and_the_mcp_tools(
    server: Server, env: dict[str, str]
):
    import httpx

    assert "--fifth-bin" in run_k8smcp("run", "--help", env=env).stdout
    routes = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
    assert "/tools/fifth" in routes
    listed = run_k8smcp("tools", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    tools: Any = json.loads(listed.stdout)
    names = [t["tool"] if isinstance(t, dict) else t for t in tools]
    assert "fifth" in names
    remote = run_k8smcp("call", "--list", "--json", "--url", server.mcp_url, env=env)
    assert remote.returncode == 0, remote.stderr
    assert "fifth" in remote.stdout


def test_nothing_in_k8smcp_names_it():
    import k8smcp

    package = Path(k8smcp.__file__).parent
    assert not [p for p in package.rglob("*.py") if "fifth" in p.read_text()]
