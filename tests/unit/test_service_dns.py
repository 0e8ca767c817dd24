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
from k8smcp.policy import Answers, Policy
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


async def test_a_name_is_asked_again_only_after_a_few_seconds_and_every_call_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ttl = 0.3  # the service's is 5 s
    asked: list[str] = []
    answers = {"api.gone.test": [], "api.meta.test": ["169.254.169.254"]}

    def resolver(host: str) -> list[str]:
        asked.append(host)
        return answers[host]

    service = Service(Settings(policy=Policy.server(resolver=resolver)))
    monkeypatch.setattr(service, "_answers", Answers(ttl=ttl))

    async def refusal(host: str) -> str:
        call = ToolCall(
            tool="kubectl", command="get ns", kubeconfig=b64(make_kubeconfig(f"https://{host}"))
        )
        with pytest.raises(PolicyDeniedError) as denied:
            await service.call_tool(call)
        return str(denied.value)

    # each call is refused by its own check, the second from the remembered answer
    first, second = await refusal("api.meta.test"), await refusal("api.meta.test")
    assert first == second and "169.254.169.254" in first
    assert asked == ["api.meta.test"]
    # a name that did not resolve is asked again at once
    assert "does not resolve" in await refusal("api.gone.test")
    assert "does not resolve" in await refusal("api.gone.test")
    assert asked == ["api.meta.test", "api.gone.test", "api.gone.test"]
    # once the answer is older than its time, the name is asked again
    await anyio.sleep(ttl)
    await refusal("api.meta.test")
    assert asked[-1] == "api.meta.test" and len(asked) == 4
    await service.aclose()
