"""Ways to run one command: raw kubectl, `k8smcp run`/`call`, REST, MCP over HTTP and stdio.

Every driver has ``async call(command) -> Outcome`` and is timed from outside by the
caller. The MCP drivers speak JSON-RPC themselves (a few lines over HTTP or a pipe)
rather than through the SDK client, and HTTP goes through bench.http1 rather than httpx
(about 2 ms a request of its own), so that what is measured is the server; the same
drivers work for the peers' MCP servers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.env import K8SMCP, KUBECTL
from bench.http1 import Http1, HttpError

PROTOCOL_VERSION = "2025-06-18"
CALL_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    seconds: float
    detail: str = ""
    size: int = 0  # bytes of output, to check every entry point returned the same thing
    truncated: bool = False  # k8smcp cut the output at K8SMCP_MAX_OUTPUT_BYTES


class Driver(Protocol):
    name: str

    async def call(self, command: str) -> Outcome: ...

    async def aclose(self) -> None: ...


async def _subprocess(argv: list[str], env: dict[str, str]) -> Outcome:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CALL_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Outcome(False, time.perf_counter() - started, "timeout")
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        return Outcome(False, elapsed, f"exit {proc.returncode}: {err.decode()[-300:]}")
    return Outcome(True, elapsed, size=len(out))


class RawKubectl:
    """kubectl itself, with a kubeconfig file and a HOME whose discovery cache persists."""

    def __init__(self, env: dict[str, str], name: str = "raw kubectl") -> None:
        self.name = name
        self.env = env

    async def call(self, command: str) -> Outcome:
        return await _subprocess([KUBECTL, *shlex.split(command)], self.env)

    async def aclose(self) -> None:
        pass


class K8smcpRun:
    """``k8smcp run --kubeconfig FILE kubectl ...``: a new k8smcp process per call."""

    def __init__(
        self,
        env: dict[str, str],
        kubeconfig: Path,
        name: str = "k8smcp run",
        warm: Path | None = None,
    ) -> None:
        self.name = name
        self.env = env
        self.kubeconfig = kubeconfig
        self.warm = warm  # K8SMCP_WARM=1: the XDG_RUNTIME_DIR its warm process lives in

    async def call(self, command: str) -> Outcome:
        argv = [K8SMCP, "run", "--kubeconfig", str(self.kubeconfig), "kubectl"]
        return await _subprocess([*argv, *shlex.split(command)], self.env)

    async def ready(self, timeout: float = 20) -> None:
        """With ``warm``: wait until the first call's warm process serves."""
        deadline = time.monotonic() + timeout
        while self.warm is not None and not list(self.warm.glob("k8smcp/*.sock")):
            if time.monotonic() > deadline:
                raise RuntimeError("the warm process did not start")
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        for pid_file in self.warm.glob("k8smcp/*.pid") if self.warm else ():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ValueError, OSError):
                pass


class K8smcpCall:
    """``k8smcp call --url URL kubectl ...``: a new client process (and MCP session) per call."""

    def __init__(self, env: dict[str, str], url: str, name: str = "k8smcp call") -> None:
        self.name = name
        self.env = env
        self.url = url

    async def call(self, command: str) -> Outcome:
        argv = [K8SMCP, "call", "--url", self.url, "kubectl"]
        return await _subprocess([*argv, *shlex.split(command)], self.env)

    async def aclose(self) -> None:
        pass


class Rest:
    """POST /tools/kubectl with the kubeconfig in X-Kubeconfig, over keep-alive connections."""

    def __init__(self, base_url: str, kubeconfig_b64: str, name: str = "REST") -> None:
        self.name = name
        self.http = Http1(base_url, headers={"X-Kubeconfig": kubeconfig_b64}, timeout=CALL_TIMEOUT)

    async def call(self, command: str) -> Outcome:
        started = time.perf_counter()
        try:
            response = await self.http.request(
                "POST", "/tools/kubectl", json_body={"command": command}
            )
        except (HttpError, TimeoutError) as exc:
            return Outcome(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return _rest_outcome(response.status_code, response.text, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.http.aclose()


class RestHttpx:
    """The same REST call through httpx (one keep-alive pool): what a Python client pays."""

    def __init__(self, base_url: str, kubeconfig_b64: str, name: str = "REST (httpx)") -> None:
        self.name = name
        self.url = f"{base_url}/tools/kubectl"
        self.http = httpx.AsyncClient(
            headers={"X-Kubeconfig": kubeconfig_b64},
            timeout=CALL_TIMEOUT,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        )

    async def call(self, command: str) -> Outcome:
        started = time.perf_counter()
        try:
            response = await self.http.post(self.url, json={"command": command})
        except httpx.HTTPError as exc:
            return Outcome(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc!r}")
        return _rest_outcome(response.status_code, response.text, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.http.aclose()


def _rest_outcome(status: int, text: str, elapsed: float) -> Outcome:
    if status != 200:
        return Outcome(False, elapsed, f"HTTP {status}: {text[:300]}")
    data = json.loads(text)
    if data.get("exit_code") != 0:
        detail = f"exit {data.get('exit_code')}: {data.get('stderr', '')[:300]}"
        return Outcome(False, elapsed, detail)
    size = len(data.get("stdout", "").encode())
    return Outcome(True, elapsed, size=size, truncated=bool(data.get("truncated")))


def _tool_outcome(result: dict[str, Any], elapsed: float) -> Outcome:
    """An Outcome from a tools/call result (k8smcp's structured content, or text for peers)."""
    if "error" in result:
        return Outcome(False, elapsed, f"JSON-RPC error: {json.dumps(result['error'])[:300]}")
    body = result.get("result", {})
    text = "".join(c.get("text", "") for c in body.get("content", []) if isinstance(c, dict))
    structured = body.get("structuredContent")
    if body.get("isError"):
        return Outcome(False, elapsed, f"isError: {text[:300]}")
    if isinstance(structured, dict) and "exit_code" in structured:  # k8smcp: stdout is
        first = (body.get("content") or [{}])[0]  # the first text block, sent once
        size = len(str(first.get("text", "")).encode())
        return Outcome(True, elapsed, size=size, truncated=bool(structured.get("truncated")))
    return Outcome(True, elapsed, size=len(text.encode()))


class McpHttp:
    """MCP streamable HTTP: one session (initialize once), then tools/call per call.

    ``tool`` and ``arguments`` make the call; ``arguments`` gets ``command`` unless a
    ``make_args`` is given (the peers' tools take other arguments).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        tool: str = "kubectl",
        make_args: Any = None,
        name: str = "MCP HTTP",
    ) -> None:
        self.name = name
        self.url = url
        self.tool = tool
        self.make_args = make_args or (lambda command: {"command": command})
        self.http = Http1(
            url,
            headers={**(headers or {}), "Accept": "application/json, text/event-stream"},
            timeout=CALL_TIMEOUT,
        )
        self.ids = itertools.count(1)
        self.session: dict[str, str] = {}

    async def _rpc(
        self, method: str, params: dict[str, Any], notify: bool = False
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            message["id"] = next(self.ids)
        response = await self.http.request(
            "POST", json_body=message, headers={"Content-Type": "application/json", **self.session}
        )
        if notify:
            return {}
        if response.status_code >= 400:
            raise HttpError(f"{method}: HTTP {response.status_code}: {response.text[:300]}")
        if "mcp-session-id" in response.headers and "mcp-session-id" not in self.session:
            self.session["mcp-session-id"] = response.headers["mcp-session-id"]
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                    if data.get("id") == message["id"]:
                        return data  # type: ignore[no-any-return]
            raise RuntimeError(f"no answer to {method} in the event stream")
        return response.json()  # type: ignore[no-any-return]

    async def start(self) -> McpHttp:
        answer = await self._rpc(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "k8smcp-bench", "version": "0"},
            },
        )
        version = answer.get("result", {}).get("protocolVersion", PROTOCOL_VERSION)
        self.session["mcp-protocol-version"] = version
        await self._rpc("notifications/initialized", {}, notify=True)
        return self

    async def list_tools(self) -> dict[str, Any]:
        return await self._rpc("tools/list", {})

    async def call(self, command: str) -> Outcome:
        started = time.perf_counter()
        try:
            answer = await self._rpc(
                "tools/call", {"name": self.tool, "arguments": self.make_args(command)}
            )
        except (HttpError, RuntimeError, ValueError, TimeoutError) as exc:
            return Outcome(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return _tool_outcome(answer, time.perf_counter() - started)

    async def aclose(self) -> None:
        if "mcp-session-id" in self.session:
            try:
                async with asyncio.timeout(5):
                    await self.http.request("DELETE", headers=self.session)
            except (HttpError, TimeoutError):
                pass
        await self.http.aclose()


class McpStdio:
    """MCP over stdio: one child process (one session); concurrent calls are multiplexed
    by JSON-RPC id, as a client that does not wait for one answer before the next would."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        tool: str = "kubectl",
        make_args: Any = None,
        name: str = "MCP stdio",
        stderr: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.tool = tool
        self.make_args = make_args or (lambda command: {"command": command})
        self.ids = itertools.count(1)
        self.stderr_path = stderr
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> McpStdio:
        stderr = self.stderr_path.open("ab") if self.stderr_path else asyncio.subprocess.DEVNULL
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            limit=64 * 1024 * 1024,
        )
        self.reader = asyncio.create_task(self._read())
        await self._rpc(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "k8smcp-bench", "version": "0"},
            },
        )
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}})
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                try:
                    data = json.loads(line)
                except ValueError:
                    continue  # a peer printing a log line on stdout
                future = self.pending.pop(data.get("id"), None) if "id" in data else None
                if future is not None and not future.done():
                    future.set_result(data)
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(RuntimeError(f"{self.argv[0]} closed stdout"))

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def _rpc(
        self, method: str, params: dict[str, Any], timeout: float = CALL_TIMEOUT
    ) -> dict[str, Any]:
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(ident, None)

    async def list_tools(self) -> dict[str, Any]:
        return await self._rpc("tools/list", {})

    async def call(self, command: str) -> Outcome:
        started = time.perf_counter()
        try:
            answer = await self._rpc(
                "tools/call", {"name": self.tool, "arguments": self.make_args(command)}
            )
        except (RuntimeError, TimeoutError, OSError) as exc:
            return Outcome(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return _tool_outcome(answer, time.perf_counter() - started)

    async def aclose(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()


class McpSse:
    """The older MCP HTTP transport (GET /sse for answers, POST to the endpoint it names),
    for servers that offer no streamable HTTP. One SSE stream per session."""

    def __init__(
        self, base_url: str, *, tool: str, make_args: Any, name: str, sse_path: str = "/sse"
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.sse_path = sse_path
        self.tool = tool
        self.make_args = make_args
        self.http = Http1(base_url, timeout=CALL_TIMEOUT)
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.endpoint: asyncio.Future[str] | None = None
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> McpSse:
        self.endpoint = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.endpoint, 30)
        await self._rpc(
            "initialize",
            {
                "protocolVersion": "2025-03-26",
                "capabilities": {},
                "clientInfo": {"name": "k8smcp-bench", "version": "0"},
            },
        )
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}})
        return self

    async def _read(self) -> None:
        assert self.endpoint is not None
        try:
            event = ""
            async for line in self.http.lines(self.sse_path, {"Accept": "text/event-stream"}):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                    if event == "endpoint" and not self.endpoint.done():
                        self.endpoint.set_result(data)
                    elif event == "message":
                        message = json.loads(data)
                        future = self.pending.pop(message.get("id"), None)
                        if future is not None and not future.done():
                            future.set_result(message)
            raise HttpError("the server ended the stream")
        except (HttpError, ValueError) as exc:
            failed = RuntimeError(f"SSE stream ended: {exc}")
            if not self.endpoint.done():
                self.endpoint.set_exception(failed)
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(failed)

    async def _post(self, message: dict[str, Any]) -> None:
        assert self.endpoint is not None
        path = self.endpoint.result()
        if path.startswith(self.base_url):
            path = path[len(self.base_url) :]
        response = await self.http.request("POST", path, json_body=message)
        if response.status_code >= 400:
            raise HttpError(f"POST {path}: HTTP {response.status_code}")

    async def _rpc(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        try:
            await self._post({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        finally:
            self.pending.pop(ident, None)

    async def call(self, command: str) -> Outcome:
        started = time.perf_counter()
        try:
            answer = await self._rpc(
                "tools/call", {"name": self.tool, "arguments": self.make_args(command)}
            )
        except (HttpError, RuntimeError, TimeoutError) as exc:
            return Outcome(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return _tool_outcome(answer, time.perf_counter() - started)

    async def aclose(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.http.aclose()
