"""One Python MCP client (SDK 1.x in a venv of its own, or the installed 2.x) through the
conformance scenario against a real k8smcp server; prints one JSON object of what it saw.

Usage: python py_driver.py '<json plan>' (see tests/conformance/scenario.py). Standard
library and the ``mcp`` package only: it runs under either SDK's interpreter.
"""

import json
import os
import sys
import time
from importlib.metadata import version
from typing import Any

import anyio

PLAN = json.loads(sys.argv[1])
V1 = version("mcp").startswith("1.")


def pids_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(marker in a for a in argv) and not any("py_driver" in a for a in argv):
            found.append(int(pid))
    return found


def shape(result: Any) -> dict[str, Any]:
    is_error = result.isError if V1 else result.is_error
    structured = result.structuredContent if V1 else result.structured_content
    texts = [getattr(c, "text", f"<{c.type}>") for c in result.content]
    return {"isError": bool(is_error), "texts": texts, "structured": structured}


def thrown(exc: BaseException) -> dict[str, Any]:
    error = getattr(exc, "error", None)
    return {"thrown": {"code": getattr(error, "code", None), "message": str(exc)}}


class Session:
    """The few calls the scenario makes, on either SDK."""

    def __init__(self, session: Any, init: dict[str, Any]) -> None:
        self.session = session
        self.init = init

    async def call(self, name: str, args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            return shape(await self.session.call_tool(name, args, **kwargs))
        except Exception as exc:  # the client raised: record what it said
            return thrown(exc)

    def next_request_id(self) -> Any:
        # SDK 1.x numbers requests with a counter and never sends notifications/cancelled
        # itself when a call is cancelled: a host must send it, as the scenario does.
        return self.session._request_id


async def open_session(stack: Any, headers: dict[str, str]) -> Session:
    if V1:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
        from mcp.client.streamable_http import streamablehttp_client

        if PLAN["transport"] == "stdio":
            params = StdioServerParameters(
                command=PLAN["command"], args=PLAN["args"], env=PLAN["env"]
            )
            read, write = await stack.enter_async_context(
                stdio_client(params, errlog=open(os.devnull, "w"))
            )
        else:
            read, write, _ = await stack.enter_async_context(
                streamablehttp_client(
                    PLAN["url"], headers=headers, timeout=60, sse_read_timeout=300
                )
            )
        session = await stack.enter_async_context(ClientSession(read, write))
        result = await session.initialize()
        init = {
            "protocolVersion": result.protocolVersion,
            "server": result.serverInfo.name,
            "instructions": result.instructions,
        }
        return Session(session, init)
    import httpx2
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    if PLAN["transport"] == "stdio":
        target: Any = StdioServerParameters(
            command=PLAN["command"], args=PLAN["args"], env=PLAN["env"]
        )
    else:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=300))
        )
        # The SDK refuses an SSE event over 1 MiB by default, and a full-cap answer (1 MiB
        # of stdout in JSON) is a little more: raise it as `k8smcp call` does (client.py).
        target = streamable_http_client(
            PLAN["url"], http_client=http, max_sse_event_size=64 * 1024 * 1024
        )
    client = await stack.enter_async_context(Client(target, mode=PLAN.get("mode", "auto")))
    init = {
        "protocolVersion": client.protocol_version,
        "server": client.server_info.name if client.server_info else None,
        "instructions": client.instructions,
    }
    return Session(client, init)


async def main() -> dict[str, Any]:
    from contextlib import AsyncExitStack

    out: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        s = await open_session(stack, PLAN.get("headers") or {})
        out["init"] = s.init
        tools = (await s.session.list_tools()).tools
        out["tools"] = [
            {
                "name": t.name,
                "required": (t.outputSchema if V1 else t.output_schema or {}).get("required"),
                "additional": (t.inputSchema if V1 else t.input_schema).get("additionalProperties"),
            }
            for t in tools
        ]
        prompts = (await s.session.list_prompts()).prompts
        out["prompts"] = [
            {
                "name": p.name,
                "args": [
                    [a.name, bool(a.required), bool(a.description)] for a in p.arguments or []
                ],
            }
            for p in prompts
        ]
        for step, args in PLAN["calls"].items():
            out[step] = await s.call("kubectl", args)
        out["unknown_tool"] = await s.call("no-such-tool", {"command": "version"})
        try:
            prompt = await s.session.get_prompt("debug_crashloop_pod", {"pod": "web-1"})
            out["prompt_ok"] = {"text": prompt.messages[0].content.text[:200]}
        except Exception as exc:
            out["prompt_ok"] = thrown(exc)
        try:
            await s.session.get_prompt("debug_crashloop_pod", {})
            out["prompt_missing"] = {"thrown": None}
        except Exception as exc:
            out["prompt_missing"] = thrown(exc)

        large = await s.call("kubectl", PLAN["large"])
        out["large"] = (
            large
            if "thrown" in large
            else {
                "isError": large["isError"],
                "length": len(large["texts"][0].encode()),
                "tail": large["texts"][0][-200:],
                "structured": large["structured"],
                "texts": len(large["texts"]),
            }
        )

        progress: list[Any] = []
        got_progress = anyio.Event()

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(message)
            got_progress.set()

        outcome: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            request_id = s.next_request_id() if V1 else None

            async def watch() -> None:
                with anyio.CancelScope() as scope:
                    watch_scope.append(scope)
                    outcome.update(
                        await s.call("kubectl", PLAN["watch"], progress_callback=on_progress)
                    )
                if scope.cancelled_caught:
                    outcome["cancelled"] = True

            watch_scope: list[anyio.CancelScope] = []
            tg.start_soon(watch)
            with anyio.move_on_after(20):
                await got_progress.wait()
            before = pids_with(PLAN["marker"])
            watch_scope[0].cancel()
            if V1:
                from mcp.types import (
                    CancelledNotification,
                    CancelledNotificationParams,
                    ClientNotification,
                )

                await s.session.send_notification(
                    ClientNotification(
                        CancelledNotification(
                            method="notifications/cancelled",
                            params=CancelledNotificationParams(requestId=request_id),
                        )
                    )
                )
            cancelled = time.monotonic()
            after = pids_with(PLAN["marker"])
            while after and time.monotonic() - cancelled < 5:
                await anyio.sleep(0.05)
                after = pids_with(PLAN["marker"])
        out["progress_cancel"] = {
            "progress": len(progress),
            "firstMessage": progress[0] if progress else None,
            "childBefore": len(before),
            "goneMs": int((time.monotonic() - cancelled) * 1000) if not after else None,
            "outcome": outcome,
        }
        out["after_cancel"] = await s.call("kubectl", PLAN["calls"]["ok"])
    if PLAN["bare_calls"]:
        async with AsyncExitStack() as stack:
            bare = await open_session(stack, {})
            for step, args in PLAN["bare_calls"].items():
                out[step] = await bare.call("kubectl", args)
    return out


print(json.dumps(anyio.run(main)))
