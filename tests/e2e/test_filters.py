"""Pipes to filters and the answer budget with real kubectl, grep, jq: no cluster needed.

Invariants: `k8smcp run` and MCP over stdio run the same pipelines; a refused stage is a
403-class refusal naming rule ``filter`` and nothing runs; a jq program that would eat
the machine is killed by the filter's memory or time limit; below the policy (a filter
built by hand, as if a grammar had a hole) the child sees no inherited variable and
writes no byte to a file; over MCP a big answer is cut to the budget, says so, and its
parts read with ``offset`` join up to exactly the whole output.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from k8smcp.executor import Executor
from k8smcp.pipeline import FILTER_TIMEOUT, run_filters
from k8smcp.policy.filters import Filter
from tests.conftest import K8SMCP, k8smcp_env, make_kubeconfig, run_k8smcp

NOTICE = re.compile(r"\[k8smcp: answer budget [^\n]*\]\n")


def _run_json(*args: str, timeout: float = 60) -> dict:
    done = run_k8smcp("run", "--json", *args, timeout=timeout)
    return json.loads(done.stdout or done.stderr)


def test_run_pipes_kubectl_json_into_jq() -> None:
    result = _run_json(
        "kubectl", "version", "--client", "-o", "json", "|", "jq", "-r", ".clientVersion.major"
    )
    assert result["ok"], result
    assert result["stdout"] == "1\n"
    assert result["argv"][-4:] == ["|", "jq", "--raw-output", ".clientVersion.major"]


def test_run_pipes_through_several_filters() -> None:
    result = _run_json(
        "kubectl", "version", "--client", "|", "grep", "-i", "version", "|", "wc", "-l"
    )
    assert result["ok"], result
    assert result["stdout"].strip() == "2"  # Client Version, Kustomize Version


def test_grep_without_a_match_exits_1_and_says_why() -> None:
    result = _run_json("kubectl", "version", "--client", "|", "grep", "no-such-text")
    assert result["exit_code"] == 1 and result["stdout"] == ""
    assert "grep matched no line" in result["stderr"]


@pytest.mark.parametrize(
    ("stage", "words"),
    [
        (["sort", "-o", "/tmp/k8smcp-never-written"], "writes a file"),
        (["jq", "$ENV"], "environment"),
        (["grep", "-f", "/etc/passwd"], "reads a file"),
        (["sh", "-c", "id"], "not a filter"),
    ],
)
def test_a_refused_stage_is_a_policy_refusal_and_nothing_runs(stage, words) -> None:
    done = run_k8smcp("run", "--json", "kubectl", "version", "--client", "|", *stage)
    assert done.returncode == 4, done.stdout + done.stderr
    body = json.loads(done.stdout or done.stderr)
    assert body["rule"] == "filter" and words in body["detail"]
    assert not Path("/tmp/k8smcp-never-written").exists()


@pytest.mark.parametrize(
    "program",
    [
        'reduce range(40) as $i ("x"; . + .)',  # memory: 2**40 bytes, past the limit
        "last(range(1e12))",  # time: runs until the call's timeout
    ],
)
def test_a_jq_program_that_would_eat_the_machine_is_stopped(program) -> None:
    started = time.monotonic()
    result = _run_json(
        "--timeout", "4", "kubectl", "version", "--client", "-o", "json", "|", "jq", program
    )
    elapsed = time.monotonic() - started
    assert not result["ok"] and result["exit_code"] != 0, result
    assert elapsed < FILTER_TIMEOUT, elapsed
    assert result["exit_code"] in (124, 134), result  # timeout, or SIGABRT on malloc failure
    assert "[k8smcp: " in result["stderr"], result["stderr"]


@pytest.mark.anyio
async def test_below_the_policy_a_filter_inherits_nothing_and_writes_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from k8smcp.models import ran

    monkeypatch.setenv("K8SMCP_CANARY_SECRET", "canary-value-7f3a")
    executor = Executor(max_output_bytes=1 << 20, max_concurrency=2)
    source = ran(
        tool="kubectl",
        argv=["kubectl"],
        exit_code=0,
        stdout="b\na\n",
        stderr="",
        truncated=False,
        timed_out=False,
        duration_ms=1,
    )
    target = tmp_path / "written"
    unchecked = [  # as if a grammar had let these through
        Filter("jq", ("jq", "-n", "env")),
        Filter("sort", ("sort", "-o", str(target))),
    ]
    env_answer = await run_filters(executor, unchecked[:1], source, deadline=time.monotonic() + 10)
    variables = json.loads(env_answer.stdout)
    assert "canary-value-7f3a" not in env_answer.stdout
    assert set(variables) <= {
        "PATH", "LC_ALL", "HOME", "TMPDIR", "KUBECONFIG",
        "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
    }  # fmt: skip
    sorted_answer = await run_filters(
        executor, unchecked[1:], source, deadline=time.monotonic() + 10
    )
    assert sorted_answer.exit_code != 0  # SIGXFSZ: the file size limit is 0
    assert not target.exists() or target.stat().st_size == 0
    await executor.aclose()


def _stdio(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=K8SMCP, args=["stdio", *args], env=env)


@pytest.mark.anyio
async def test_mcp_answers_are_cut_to_the_budget_and_read_on_with_offset(tmp_path: Path) -> None:
    # A big kubeconfig makes `config view` a big answer without a cluster.
    config = make_kubeconfig("https://10.9.9.9:6443")
    config["clusters"] += [
        {
            "name": f"cluster-{i:04d}",
            "cluster": {"server": f"https://10.0.{i // 250}.{i % 250}:6443"},
        }
        for i in range(1500)
    ]
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    env = k8smcp_env(tmp_path)
    whole_run = run_k8smcp("run", "--kubeconfig", str(path), "kubectl", "config", "view", env=env)
    whole = whole_run.stdout
    assert len(whole.encode()) > 60_000
    async with Client(_stdio(env, "--kubeconfig", str(path), "--output-budget", "20000")) as client:
        first = await client.call_tool("kubectl", {"command": "config view"})
        text = first.content[0].text
        assert len(text.encode()) < 21_000
        notice = NOTICE.search(text).group(0)
        assert "answer budget 20000 bytes" in notice and "offset=" in notice
        assert "-l app=web" in notice  # how to narrow
        parts = [NOTICE.sub("", text)]
        offset = int(re.search(r"offset=(\d+)", notice).group(1))
        while True:
            answer = await client.call_tool(
                "kubectl", {"command": "config view", "offset": offset, "max_bytes": 30000}
            )
            text = answer.content[0].text
            notice = NOTICE.search(text).group(0)
            parts.append(NOTICE.sub("", text))
            found = re.search(r"Next part: the same call with offset=(\d+)", notice)
            if found is None:
                break
            offset = int(found.group(1))
        assert "".join(parts) == whole
        filtered = await client.call_tool(
            "kubectl", {"command": "config view -o json | jq -r '.clusters | length'"}
        )
        assert filtered.content[0].text.strip() == "1501"
        too_big = await client.call_tool("kubectl", {"command": "config view", "max_bytes": 10**6})
        assert too_big.is_error
        refused = await client.call_tool(
            "kubectl", {"command": "config set-context x --cluster=y", "offset": 10}
        )
        assert refused.is_error and "change the cluster" in refused.content[0].text


@pytest.mark.anyio
async def test_below_the_policy_a_confined_filter_reads_no_file_of_the_server(
    tmp_path: Path,
) -> None:
    from k8smcp.models import ran

    secret = tmp_path / "server-secret"
    secret.write_text("canary-file-9c1d\n")
    executor = Executor(max_output_bytes=1 << 20, max_concurrency=2)
    source = ran(
        tool="kubectl",
        argv=["kubectl"],
        exit_code=0,
        stdout="b\n",
        stderr="",
        truncated=False,
        timed_out=False,
        duration_ms=1,
    )
    unchecked = [Filter("sort", ("sort", "-", str(secret)))]  # as if a grammar let it through
    try:
        control = await run_filters(
            executor, unchecked, source, deadline=time.monotonic() + 10, confined=False
        )
        assert "canary-file-9c1d" in control.stdout  # the attack is real without Landlock
        confined = await run_filters(
            executor, unchecked, source, deadline=time.monotonic() + 10, confined=True
        )
    finally:
        await executor.aclose()
    assert "canary-file-9c1d" not in confined.stdout + confined.stderr
    assert confined.exit_code != 0 and "Permission denied" in confined.stderr
