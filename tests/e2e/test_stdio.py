"""MCP over stdio, through the SDK's own client spawning `k8smcp stdio`, with real kubectl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import K8SMCP, b64, k8smcp_env, leftovers, make_kubeconfig

pytestmark = pytest.mark.anyio

LAUNCH_SERVER = "https://10.7.7.7:6443"
LAUNCH = ("--kubeconfig-b64", b64(make_kubeconfig(LAUNCH_SERVER)))


def stdio_params(*args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(command=K8SMCP, args=["stdio", *args], env=env or k8smcp_env())


def all_installed(fake_cli: Path, **extra: str) -> dict[str, str]:
    """An environment where helm, istioctl and argocd are the fake CLI (kubectl is real)."""
    bins = {f"K8SMCP_{tool}_BIN": str(fake_cli) for tool in ("HELM", "ISTIOCTL", "ARGOCD")}
    return k8smcp_env(**{**bins, **extra})


async def test_lists_the_four_tools_with_their_schemas(fake_cli: Path) -> None:
    async with Client(stdio_params(env=all_installed(fake_cli))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert list(tools) == ["kubectl", "helm", "istioctl", "argocd"]
    kubectl = tools["kubectl"]
    assert kubectl.input_schema["required"] == ["command"]
    assert set(kubectl.input_schema["properties"]) == {
        "command",
        "namespace",
        "stdin",
        "timeout",
        "kubeconfig",
        "context",
        "max_bytes",
        "offset",
    }
    assert set(kubectl.output_schema["properties"]) == {
        "ok",
        "tool",
        "argv",
        "exit_code",
        "stderr",
        "truncated",
        "timed_out",
        "duration_ms",
        "error",
        "detail",
        "status",
    }
    assert kubectl.output_schema["required"] == ["ok"]
    assert "apply -f -" in kubectl.description
    assert "--repo" in tools["helm"].description
    for tool in tools.values():
        description = tool.description or ""
        assert "No shell runs" in description and "`stdin`" in description
        assert "capped at 1048576 bytes" in description
        assert "cannot be read" not in description  # stdio: local files are allowed


async def test_launch_kubeconfig_is_used_when_the_call_sends_none() -> None:
    params = stdio_params("--kubeconfig-b64", b64(make_kubeconfig(LAUNCH_SERVER)))
    async with Client(params) as client:
        result = await client.call_tool(
            "kubectl", {"command": "config view -o jsonpath='{.clusters[0].cluster.server}'"}
        )
    assert not result.is_error
    assert result.structured_content is not None
    assert "stdout" not in result.structured_content  # sent once, as the text
    assert [c.text for c in result.content] == [LAUNCH_SERVER]  # type: ignore[union-attr]


async def test_kubeconfig_argument_wins_over_the_launch_one() -> None:
    params = stdio_params("--kubeconfig-b64", b64(make_kubeconfig(LAUNCH_SERVER)))
    sent = b64(make_kubeconfig("https://10.8.8.8:443", context="sent", namespace="apps"))
    async with Client(params) as client:
        result = await client.call_tool(
            "kubectl",
            {
                "command": "config view --minify -o "
                "jsonpath='{.clusters[0].cluster.server} {.contexts[0].context.namespace}'",
                "kubeconfig": sent,
            },
        )
    assert result.content[0].text == "https://10.8.8.8:443 apps"  # type: ignore[union-attr]


async def test_namespace_argument_becomes_the_context_default(tmp_path: Path) -> None:
    sent = b64(make_kubeconfig())
    async with Client(stdio_params()) as client:
        result = await client.call_tool(
            "kubectl",
            {
                "command": "config view --minify -o jsonpath='{.contexts[0].context.namespace}'",
                "kubeconfig": sent,
                "namespace": "team-a",
            },
        )
        bad = await client.call_tool(
            "kubectl", {"command": "get pods", "kubeconfig": sent, "namespace": "Not_Valid"}
        )
    assert result.content[0].text == "team-a"  # type: ignore[union-attr]
    assert bad.is_error and "not a valid Kubernetes namespace name" in bad.content[0].text  # type: ignore[union-attr]


async def test_failed_command_is_an_error_result_with_stdout_and_stderr(closed_port: int) -> None:
    sent = b64(make_kubeconfig(f"https://127.0.0.1:{closed_port}"))
    async with Client(stdio_params()) as client:
        result = await client.call_tool("kubectl", {"command": "get ns", "kubeconfig": sent})
    assert result.is_error
    data = result.structured_content
    assert data is not None and data["exit_code"] == 1 and "connection refused" in data["stderr"]
    stdout, status = (c.text for c in result.content)  # type: ignore[union-attr]
    assert stdout == "" and status.startswith("exit_code: 1") and "connection refused" in status


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        ({"command": "get ns", "kubeconfig": "@@@"}, "invalid_kubeconfig", "not valid base64"),
        ({"command": "get ns", "kubeconfig": b64("a: [")}, "invalid_kubeconfig", "not valid YAML"),
        ({"command": "get ns", "kubeconfig": b64("[1]")}, "invalid_kubeconfig", "not a kubeconfig"),
        ({"command": "get 'ns"}, "invalid_command", "check the quotes"),
        ({"command": "   "}, "invalid_command", "command is empty"),
        ({"command": "get ns", "context": "nope"}, "invalid_kubeconfig", "'nope' is not in"),
    ],
)
async def test_bad_input_is_a_readable_error(
    arguments: dict[str, str], code: str, message: str
) -> None:
    params = stdio_params("--kubeconfig-b64", b64(make_kubeconfig(LAUNCH_SERVER)))
    async with Client(params) as client:
        result = await client.call_tool("kubectl", arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"{code}: ") and message in text
    assert result.structured_content is not None and result.structured_content["error"] == code


async def test_timeout_over_the_maximum_is_refused_by_the_schema() -> None:
    async with Client(stdio_params("--max-timeout", "5")) as client:
        result = await client.call_tool("kubectl", {"command": "version --client", "timeout": 50})
    assert result.is_error
    assert "timeout" in result.content[0].text  # type: ignore[union-attr]


async def test_a_tool_whose_binary_is_missing_is_not_listed_nor_called(fake_cli: Path) -> None:
    from mcp import MCPError

    env = all_installed(fake_cli, K8SMCP_ISTIOCTL_BIN="/nope/istioctl")
    async with Client(stdio_params(env=env)) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        with pytest.raises(MCPError) as caught:
            await client.call_tool("istioctl", {"command": "version"})
    assert listed == ["kubectl", "helm", "argocd"]
    assert "debug_istio_config" not in prompts and "debug_argocd_app" in prompts
    assert caught.value.error.code == -32602
    assert "istioctl is not installed on this server" in caught.value.error.message


async def test_legacy_protocol_clients_work_too() -> None:
    params = stdio_params("--kubeconfig-b64", b64(make_kubeconfig(LAUNCH_SERVER)))
    async with Client(params, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("kubectl", {"command": "version --client -o json"})
    stdout = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(stdout)["clientVersion"]["major"] == "1"


async def test_started_without_a_kubeconfig_refuses_clearly() -> None:
    async with Client(stdio_params()) as client:
        result = await client.call_tool("kubectl", {"command": "get pods"})
        instructions = client.instructions
        capabilities = client.server_capabilities
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("missing_kubeconfig: k8smcp stdio found no kubeconfig")
    assert "restart" in text and "localhost:8080" not in text
    assert instructions is not None and "started without a kubeconfig" in instructions
    assert "X-Kubeconfig" not in instructions  # no header in stdio
    assert capabilities.resources is None  # there are none, so none are advertised


async def test_troubleshooting_prompts_name_the_commands_to_run(fake_cli: Path) -> None:
    async with Client(stdio_params(env=all_installed(fake_cli))) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        crash = await client.get_prompt(
            "debug_crashloop_pod", {"pod": "web-1", "namespace": "shop"}
        )
        helm = await client.get_prompt("debug_failed_helm_release", {"release": "db"})
    assert set(prompts) == {
        "debug_crashloop_pod",
        "debug_stuck_rollout",
        "debug_failed_helm_release",
        "debug_istio_config",
        "debug_argocd_app",
    }
    arguments = prompts["debug_crashloop_pod"].arguments or []
    assert [(a.name, a.required) for a in arguments] == [("pod", True), ("namespace", False)]
    assert all(a.description for p in prompts.values() for a in p.arguments or [])
    text = crash.messages[0].content.text  # type: ignore[union-attr]
    assert "logs web-1 -n shop --previous" in text and "describe pod web-1 -n shop" in text
    assert "history db -n default" in helm.messages[0].content.text  # type: ignore[union-attr]


async def test_progress_while_a_long_command_runs(fake_cli: Path) -> None:
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    env = k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli))
    async with Client(stdio_params(*LAUNCH, env=env)) as client:
        result = await client.call_tool(
            "kubectl", {"command": "sleep 4.5"}, progress_callback=on_progress
        )
    assert not result.is_error
    assert len(seen) >= 2
    assert seen[0][0] >= 2 and seen[0][1] is not None and seen[0][1].startswith("running for")
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


async def test_cancel_over_stdio_kills_the_command(
    fake_cli: Path, tmp_path: Path, private_tmp: Path
) -> None:
    import anyio

    from tests.conftest import pid_alive

    pids = tmp_path / "pids"
    env = k8smcp_env(
        private_tmp,
        K8SMCP_KUBECTL_BIN=str(fake_cli),
        K8SMCP_PASS_ENV="FAKE_PIDS",
        FAKE_PIDS=str(pids),
    )
    async with Client(stdio_params(*LAUNCH, env=env)) as client:
        with anyio.move_on_after(2.5):
            await client.call_tool("kubectl", {"command": "hang"})
        parent, grandchild = map(int, pids.read_text().split())
        with anyio.fail_after(10):
            while pid_alive(parent) or pid_alive(grandchild):
                await anyio.sleep(0.1)
        assert leftovers(private_tmp) == []
        # the session is still usable after a cancel
        result = await client.call_tool("kubectl", {"command": "exit 0"})
        assert not result.is_error
