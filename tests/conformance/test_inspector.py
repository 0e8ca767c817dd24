"""The MCP Inspector's CLI (the version pinned in package-lock.json) on every door.

``--strict`` on tools/list reports every schema portability problem and exits 6 on an
error-severity one; a tools/call result is checked against the tool's outputSchema and a
mismatch is raised as -32602. Every call passes: a command's result exits 0, and a failed
command or a refusal exits 5 ("tool_is_error") with the result printed, never a schema
error.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.conformance.scenario import HERE, NODE_MODULES
from tests.conftest import Server
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

TOOL_IS_ERROR = 5  # the Inspector's exit code for a result with isError: true


def inspect(door: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # a shared CI machine can take more than the default 15 s to start a server
        [str(NODE_MODULES / ".bin" / "inspector"), "--cli", "--connect-timeout", "90000"]
        + [*args, *door],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=HERE,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "MCP_INSPECTOR_SECRET_STORE": "memory",  # no OS keychain here; nothing to keep
        },
    )


@pytest.fixture(params=["stdio", "http"])
def door(request: pytest.FixtureRequest, node: str, cluster_a: Cluster) -> list[str]:
    if request.param == "http":
        server: Server = request.getfixturevalue("http_server")
        header = f"X-Kubeconfig: {cluster_a.kubeconfig_b64()}"
        return ["--transport", "http", "--server-url", server.mcp_url, "--header", header]
    target: dict[str, Any] = request.getfixturevalue("stdio_target")
    env = ["-e", f"PATH={target['env']['PATH']}", "-e", f"HOME={target['env']['HOME']}"]
    return [*env, "--", target["command"], *target["args"]]


def test_strict_tools_list_finds_no_problem(door: list[str]) -> None:
    done = inspect(door, "--strict", "--method", "tools/list")
    assert done.returncode == 0, done.stderr
    assert [t["name"] for t in json.loads(done.stdout)["tools"]] == [
        "kubectl",
        "helm",
        "istioctl",
        "argocd",
    ]


@pytest.mark.parametrize(
    ("arguments", "exit_code", "expected"),
    [
        (["command=get ns default -o name"], 0, "namespace/default"),
        (["command=get ns k8smcp-inspector-missing"], TOOL_IS_ERROR, "NotFound"),
        (["command=delete ns default"], TOOL_IS_ERROR, "denied: "),
        (["command=get ns", "kubeconfig=@@@"], TOOL_IS_ERROR, "invalid_kubeconfig: "),
        (["command=get 'ns"], TOOL_IS_ERROR, "invalid_command: "),
        (["command=get ns", "bogus=1"], TOOL_IS_ERROR, "bogus: unknown argument"),
    ],
)
def test_tools_call_passes_output_validation(
    door: list[str], arguments: list[str], exit_code: int, expected: str
) -> None:
    args = [a for pair in arguments for a in ("--tool-arg", pair)]
    if any(a.startswith("kubeconfig=") for a in arguments) and "--header" in door:
        door = door[: door.index("--header")]  # the X-Kubeconfig header would win
    done = inspect(door, "--method", "tools/call", "--tool-name", "kubectl", *args)
    assert done.returncode == exit_code, (done.stdout[-2000:], done.stderr[-2000:])
    result, _ = json.JSONDecoder().raw_decode(done.stdout)  # then, on isError, the error line
    assert expected in "\n".join(c["text"] for c in result["content"])
    assert "-32602" not in done.stdout + done.stderr  # no output schema mismatch


def test_prompts(door: list[str]) -> None:
    listed = inspect(door, "--method", "prompts/list")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["prompts"]) == 5
    got = inspect(
        door,
        "--method",
        "prompts/get",
        "--prompt-name",
        "debug_crashloop_pod",
        "--prompt-args",
        "pod=web-1",
    )
    assert got.returncode == 0, got.stderr
    assert "web-1" in json.loads(got.stdout)["messages"][0]["content"]["text"]
