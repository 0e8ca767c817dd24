"""Part 8: bytes on the wire, and text a host hands the model, for a 1 MiB MCP answer.

One real call whose stdout is exactly the 1 MiB output cap (``get --raw /openapi/v2``,
cut by the cap), made with raw JSON-RPC so every byte is counted: over streamable HTTP
in both eras (2025-06-18: an SSE stream; 2026-07-28: one JSON body) and over stdio (one
line). "before" is k8smcp at ``--wire-base`` (the code before issue 15, which sent stdout
in the text block and again in structuredContent), run from a copy of that commit's
package in the same venv; "after" is this checkout. Same server settings for both.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx

from bench.context import Bench
from bench.env import K8SMCP, REPO, Server

COMMAND = "get --raw /openapi/v2"
CAP = 1024 * 1024
CALL = {"name": "kubectl", "arguments": {"command": COMMAND}}
LEGACY = "2025-06-18"
MODERN = "2026-07-28"


async def run(bench: Bench) -> dict[str, Any]:
    base = getattr(bench.args, "wire_base", None) or "0c2f811"
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="k8smcp-wire-") as tmp:
        old = Path(tmp) / "before"
        _extract(base, old)
        for label, pythonpath in (("before", str(old)), ("after", None)):
            env = bench.k8smcp_env("on") | {"K8SMCP_MAX_OUTPUT_BYTES": str(CAP)}
            if pythonpath:
                env["PYTHONPATH"] = pythonpath
            server = Server(env=env, log=bench.ws.dir("logs") / f"serve-wire-{label}.log")
            try:
                rows[label] = {
                    "http_legacy": _http(server.mcp_url, bench.kubeconfig_b64, LEGACY),
                    "http_modern": _http(server.mcp_url, bench.kubeconfig_b64, MODERN),
                    "stdio": await asyncio.to_thread(_stdio, env, bench.kubeconfig),
                }
            finally:
                server.stop()
            bench.note(f"wire {label}: {json.dumps(rows[label])}")
    return {"command": COMMAND, "cap": CAP, "base": base, "rows": rows}


def _extract(rev: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "k8smcp"], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _measure(message: dict[str, Any], wire_bytes: int) -> dict[str, Any]:
    result = message["result"]
    texts = [c.get("text", "") for c in result.get("content", [])]
    structured = result.get("structuredContent") or {}
    text_bytes = sum(len(t.encode()) for t in texts)
    stdout_in_structured = len(str(structured.get("stdout", "")).encode())
    return {
        "wire_bytes": wire_bytes,
        "text_bytes": text_bytes,
        "structured_bytes": len(json.dumps(structured).encode()),
        # what a host that shows both the text and the structured result gives the model
        "stdout_copies": int(text_bytes >= CAP) + int(stdout_in_structured >= CAP),
        "truncated": bool(structured.get("truncated")),
    }


def _http(url: str, kubeconfig_b64: str, version: str) -> dict[str, Any]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": version,
        "X-Kubeconfig": kubeconfig_b64,
    }
    params: dict[str, Any] = dict(CALL)
    if version == MODERN:
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": "kubectl"}
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    response = httpx.post(url, json=body, headers=headers, timeout=120)
    response.raise_for_status()
    raw = response.content
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:] for line in raw.decode().splitlines() if line.startswith("data:")]
        message = next(json.loads(d) for d in data if '"result"' in d)
    else:
        message = json.loads(raw)
    return _measure(message, len(raw))


def _stdio(env: dict[str, str], kubeconfig: Path) -> dict[str, Any]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    }
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": CALL}
    lines = "".join(json.dumps(m) + "\n" for m in (init, initialized, call))
    process = subprocess.Popen(
        [K8SMCP, "stdio", "--kubeconfig", str(kubeconfig)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(lines.encode())
    process.stdin.flush()
    try:
        for raw in process.stdout:  # the answer to id 1 is one line
            message = json.loads(raw)
            if message.get("id") == 1:
                return _measure(message, len(raw))
        raise RuntimeError("k8smcp stdio ended without answering the call")
    finally:
        process.stdin.close()
        process.wait(30)
