"""Policy checks that resolve a host name run in a worker thread, so a slow DNS answer
stalls that call alone and never the event loop (every other call of the server).

The system resolver cannot be made slow on demand, so the policy's resolver, injectable
for this, sleeps instead; everything else is the real service. The end-to-end side (names
resolved by the real resolver, literals checked on the spot) is in
tests/e2e/test_server_security.py.
"""

from __future__ import annotations

import time

import anyio
import pytest

from k8smcp.config import Settings
from k8smcp.errors import PolicyDeniedError
from k8smcp.policy import Policy
from k8smcp.service import Service, ToolCall
from tests.conftest import b64, make_kubeconfig

pytestmark = pytest.mark.anyio

LOOKUP_SECONDS = 0.5
CASES = {
    # where the name is: (command, kubeconfig's server, the name the resolver is asked)
    "kubeconfig": ("get ns", "https://api.slow.test:6443", ["api.slow.test"]),
    "command": (
        "apply -f https://files.slow.test/x.yaml",
        "https://10.9.9.9:6443",
        ["files.slow.test"],
    ),
    "literal": ("get ns", "https://169.254.169.254:6443", []),  # nothing to resolve
}


@pytest.mark.parametrize("case", CASES)
async def test_a_slow_dns_answer_does_not_stall_the_event_loop(case: str) -> None:
    command, server, resolved = CASES[case]
    asked: list[str] = []

    def slow_resolver(host: str) -> list[str]:
        asked.append(host)
        time.sleep(LOOKUP_SECONDS)
        return ["169.254.169.254"]  # link-local: refused, so nothing runs

    service = Service(Settings(policy=Policy.server(resolver=slow_resolver)))
    call = ToolCall(tool="kubectl", command=command, kubeconfig=b64(make_kubeconfig(server)))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        with pytest.raises(PolicyDeniedError) as denied:
            await service.call_tool(call)
        tg.cancel_scope.cancel()
    took = time.monotonic() - started

    assert denied.value.extra["rule"] == "address"
    assert asked == resolved
    if resolved:  # the loop kept running through the lookup: ticks every 10 ms
        assert took >= LOOKUP_SECONDS and ticks >= (LOOKUP_SECONDS / 0.01) / 2
    await service.aclose()
