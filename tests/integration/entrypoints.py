"""One way to run a tool through each of k8smcp's entry points, for tests that must hold
whichever door a call comes through.

Each Entry runs ``tool command`` with a base64 kubeconfig and returns an Outcome:
``run`` and ``call`` are subprocesses, ``stdio`` is an SDK client session to a spawned
``k8smcp stdio``, ``mcp_http`` an SDK streamable-HTTP session to ``k8smcp serve`` (with
the kubeconfig in the X-Kubeconfig header), ``rest`` an httpx POST to the same server.
MCP sessions live in a background event loop (an anyio blocking portal), so tests stay
synchronous and a session is reused across calls.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import K8SMCP, Server, k8smcp_env, run_k8smcp

ENTRY_NAMES = ("run", "stdio", "mcp_http", "rest", "call")
LOCAL_ENTRIES = ("run", "stdio")  # local level: the user's own machine
SERVER_ENTRIES = ("mcp_http", "rest", "call")  # through `k8smcp serve`


@dataclass(frozen=True)
class Outcome:
    """What a command did, as seen by the caller of an entry point."""

    exit_code: int
    stdout: str
    stderr: str
    error: str | None = None  # a k8smcp error code, when the call was refused

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0


class Entry:
    """Runs tools through one entry point."""

    name = "?"

    def __call__(
        self,
        tool: str,
        command: str,
        *,
        kubeconfig: str,
        namespace: str | None = None,
        stdin: str | None = None,
        timeout: float | None = None,
        arguments: dict[str, Any] | None = None,  # more tool arguments (max_bytes, offset)
    ) -> Outcome:
        raise NotImplementedError


class RunEntry(Entry):
    name = "run"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, tool, command, *, kubeconfig, namespace=None, stdin=None, timeout=None):
        options = ["--json", "--kubeconfig-b64", kubeconfig]
        if timeout is not None:
            options += ["--timeout", str(timeout)]
        args = shlex.split(command)
        if namespace is not None:
            args = ["--namespace", namespace, *args]
        done = run_k8smcp("run", *options, tool, *args, env=self.env, input=stdin, timeout=600)
        return _from_json(done.stdout, done.returncode, done.stderr)


class CallEntry(Entry):
    name = "call"

    def __init__(self, env: dict[str, str], url: str) -> None:
        self.env = env
        self.url = url

    def __call__(self, tool, command, *, kubeconfig, namespace=None, stdin=None, timeout=None):
        options = ["--json", "--url", self.url]
        if timeout is not None:
            options += ["--timeout", str(timeout)]
        args = shlex.split(command)
        if namespace is not None:
            args = ["--namespace", namespace, *args]
        env = {**self.env, "K8SMCP_KUBECONFIG_B64": kubeconfig}
        done = run_k8smcp("call", *options, tool, *args, env=env, input=stdin, timeout=600)
        return _from_json(done.stdout, done.returncode, done.stderr)


class RestEntry(Entry):
    name = "rest"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def __call__(
        self, tool, command, *, kubeconfig, namespace=None, stdin=None, timeout=None, arguments=None
    ):
        body: dict[str, Any] = {"command": command, **(arguments or {})}
        for key, value in (("namespace", namespace), ("stdin", stdin), ("timeout", timeout)):
            if value is not None:
                body[key] = value
        response = httpx.post(
            f"{self.base_url}/tools/{tool}",
            json=body,
            headers={"X-Kubeconfig": kubeconfig},
            timeout=600,
        )
        data = response.json()
        if response.status_code != 200:
            return Outcome(exit_code=-1, stdout="", stderr=data["detail"], error=data["error"])
        return Outcome(data["exit_code"], data["stdout"], data["stderr"])


class McpEntry(Entry):
    """An MCP session in a background loop; HTTP sessions send the kubeconfig as a header."""

    def __init__(self, name: str, portal: Any, connect: Any) -> None:
        self.name = name
        self.portal = portal
        self.connect = connect  # kubeconfig -> async context manager of a Client
        self.sessions: dict[str, Client] = {}
        self.stack = ExitStack()

    def session(self, kubeconfig: str) -> Client:
        key = kubeconfig if self.name == "mcp_http" else ""
        if key not in self.sessions:
            cm = self.connect(kubeconfig)
            wrapped = self.portal.wrap_async_context_manager(cm)
            self.sessions[key] = self.stack.enter_context(wrapped)
        return self.sessions[key]

    def __call__(
        self, tool, command, *, kubeconfig, namespace=None, stdin=None, timeout=None, arguments=None
    ):
        arguments = {"command": command, **(arguments or {})}
        if self.name == "stdio":
            arguments["kubeconfig"] = kubeconfig
        for key, value in (("namespace", namespace), ("stdin", stdin), ("timeout", timeout)):
            if value is not None:
                arguments[key] = value
        client = self.session(kubeconfig)
        result = self.portal.call(client.call_tool, tool, arguments)
        data = result.structured_content or {}
        if "exit_code" not in data:
            return Outcome(-1, "", str(data.get("detail", "")), error=data.get("error", "unknown"))
        stdout = result.content[0].text  # sent once, as the first text block
        return Outcome(data["exit_code"], stdout, data["stderr"])

    def close(self) -> None:
        self.stack.close()


def _from_json(stdout: str, returncode: int, stderr: str) -> Outcome:
    try:
        data = json.loads(stdout)
    except ValueError:
        raise AssertionError(
            f"k8smcp --json printed no JSON (exit {returncode}); stderr:\n{stderr}"
        ) from None
    if "exit_code" not in data:
        return Outcome(returncode, "", data["detail"], error=data["error"])
    assert data["exit_code"] == returncode
    return Outcome(data["exit_code"], data["stdout"], data["stderr"])


def stdio_client(env: dict[str, str]) -> Any:
    params = StdioServerParameters(command=K8SMCP, args=["stdio"], env=env)
    return lambda kubeconfig: Client(params)


def http_client(url: str) -> Any:
    def connect(kubeconfig: str) -> AbstractContextManager[Any] | Any:
        return _http_session(url, kubeconfig)

    return connect


class _http_session:
    """An async context manager: an httpx2 client with the header, and an MCP Client on it."""

    def __init__(self, url: str, kubeconfig: str) -> None:
        self.url = url
        self.kubeconfig = kubeconfig

    async def __aenter__(self) -> Client:
        self.http = httpx2.AsyncClient(headers={"X-Kubeconfig": self.kubeconfig}, timeout=600)
        await self.http.__aenter__()
        self.client = Client(streamable_http_client(self.url, http_client=self.http))
        return await self.client.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.client.__aexit__(*exc)
        finally:
            await self.http.__aexit__(*exc)


def open_entries(env: dict[str, str], server_url: str) -> Iterator[dict[str, Entry]]:
    """Every entry point, ready; closes the MCP sessions afterwards."""
    with anyio.from_thread.start_blocking_portal() as portal:
        stdio = McpEntry("stdio", portal, stdio_client(env))
        mcp_http = McpEntry("mcp_http", portal, http_client(f"{server_url}/mcp"))
        try:
            yield {
                "run": RunEntry(env),
                "stdio": stdio,
                "mcp_http": mcp_http,
                "rest": RestEntry(server_url),
                "call": CallEntry(env, f"{server_url}/mcp"),
            }
        finally:
            stdio.close()
            mcp_http.close()


# --- fixtures (imported by tests/integration/conftest.py) ----------------------------


@pytest.fixture(scope="session")
def testbed_env(testbed_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of k8smcp processes in integration tests: testbed CLIs first on PATH.

    Every door runs its CLIs confined: `serve` by default, `run` and `stdio` through
    K8SMCP_CONFINE (k8smcp.confine).
    """
    env = k8smcp_env(tmp_path_factory.mktemp("k8smcp-tmp"), K8SMCP_CONFINE="true")
    env["PATH"] = f"{testbed_bin_dir}{os.pathsep}{env['PATH']}"
    for tool in ("helm", "istioctl", "argocd"):
        env[f"K8SMCP_{tool.upper()}_BIN"] = str(testbed_bin_dir / tool)
    return env


@pytest.fixture(scope="session")
def testbed_server(
    testbed: Any, testbed_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One `k8smcp serve` for the session, able to run every testbed CLI."""
    server = Server(env=testbed_env, log=tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def entries(testbed_env: dict[str, str], testbed_server: Server) -> Iterator[dict[str, Entry]]:
    """Every entry point, by name."""
    yield from open_entries(testbed_env, testbed_server.url)


@pytest.fixture(params=ENTRY_NAMES)
def entry(request: pytest.FixtureRequest, entries: dict[str, Entry]) -> Entry:
    """Each entry point in turn."""
    return entries[request.param]
