"""Answers sized for a model, on a seeded cluster: pipes to filters, the budget, the next part.

Invariants, through every entry point that applies: the filters answer the questions
agents ask in the spellings they write (`| grep`, `|grep`, `| jq -r '...'`, `| sort |
uniq -c`, `| wc -l`, `| head`), on kubectl and helm; a refused stage is a 403 with rule
``filter``; an MCP answer bigger than the budget is cut (REST when asked), says so, and
its parts read on with ``offset`` join up to exactly the whole output; logs and events
keep their end; a command that can change the cluster gets no next part; and on a
server (redaction on) no filter brings a Secret's value back, in any encoding.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Server
from tests.integration import seed
from tests.integration.entrypoints import SERVER_ENTRIES, Entry
from tests.testbed import Cluster

pytestmark = pytest.mark.integration

NOTICE = re.compile(r"\[k8smcp: answer budget [^\n]*\]\n")
NEXT = re.compile(r"Next part: the same call with offset=(\d+)")
BUDGET = 24_000  # the server default (config.DEFAULT_OUTPUT_BUDGET)
SPACED_ONLY = ("run", "call")  # their arguments are split by the user's shell first


@pytest.fixture(scope="module")
def seeded(cluster_a: Cluster) -> Iterator[str]:
    with seed.fresh_namespace(cluster_a) as name:
        try:
            seed.seed(cluster_a, name)
            yield name
        finally:
            seed.unseed(cluster_a, name)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _counts(text: str) -> dict[str, int]:
    """`uniq -c` output as {value: count}."""
    pairs = (line.split() for line in _lines(text))
    return {pair[1]: int(pair[0]) for pair in pairs if len(pair) == 2}


# (tool, command, check(stdout, namespace) -> bool): questions agents ask, as they ask them
QUESTIONS = [
    (
        "kubectl",
        "get pods | grep CrashLoop",
        lambda out, s: {line.split()[0] for line in _lines(out)} == set(seed.CRASHING),
    ),
    ("kubectl", "get pods|grep CrashLoopBackOff", lambda out, s: len(_lines(out)) == 3),
    ("kubectl", "get pods --no-headers | grep -c Running", lambda out, s: out.strip() == "121"),
    (
        "kubectl",
        "get pods | grep -v Running | grep -vi crash",
        lambda out, s: [line.split()[0] for line in _lines(out)] == ["NAME", "stuck"],
    ),
    ("kubectl", "get pods | grep -E 'stuck|worker-0' | wc -l", lambda out, s: out.strip() == "2"),
    (
        "kubectl",
        "get pods | head -5",
        lambda out, s: len(_lines(out)) == 5 and out.startswith("NAME"),
    ),
    ("kubectl", "get pods | head -n 3", lambda out, s: len(_lines(out)) == 3),
    ("kubectl", "get pods | tail -n 2", lambda out, s: len(_lines(out)) == 2),
    ("kubectl", "get pods --no-headers | wc -l", lambda out, s: out.strip() == "125"),
    ("kubectl", "get pods -l app=web -o name | wc -l", lambda out, s: out.strip() == "60"),
    (
        "kubectl",
        "get pods -o name | cut -d/ -f2 | grep ^worker | sort -r",
        lambda out, s: _lines(out) == ["worker-2", "worker-1", "worker-0"],
    ),
    ("kubectl", "get pods -o json | jq '.items | length'", lambda out, s: out.strip() == "125"),
    (
        "kubectl",
        "get pods -o json | jq -r '.items[] | select(.status.containerStatuses[]?.state.waiting.reason == \"CrashLoopBackOff\") | .metadata.name'",  # noqa: E501
        lambda out, s: _lines(out) == list(seed.CRASHING),
    ),
    (
        "kubectl",
        "get pods -o json | jq -c '[.items[] | select(.status.phase==\"Pending\") | .metadata.name]'",  # noqa: E501
        lambda out, s: out.strip() == '["stuck"]',
    ),
    (
        "kubectl",
        "get pods -o json | jq '.items[].metadata.name' | grep -c worker",
        lambda out, s: out.strip() == "3",
    ),
    (
        "kubectl",
        "get deploy web -o json | jq -r '.spec.template.spec.containers[].image'",
        lambda out, s: out == "registry.example/web:1.4.2\n",
    ),
    (
        "kubectl",
        "get deploy -o json | jq -r '.items[] | \"\\(.metadata.name) \\(.spec.template.spec.containers[0].image)\"' | sort",  # noqa: E501
        lambda out, s: "api registry.example/api:2.0.1" in _lines(out),
    ),
    (
        "kubectl",
        "get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort | uniq -c",
        lambda out, s: (
            sum(n for k, n in _counts(out).items() if k in seed.node_names(s)) == seed.API_REPLICAS
            and _counts(out)["kwok-node-0"] == seed.WEB_REPLICAS + 1
        ),
    ),
    (
        "kubectl",
        "get pods -o json | jq -r '.items[].spec.nodeName // \"none\"' | sort | uniq -c | sort -rn | head -1",  # noqa: E501
        lambda out, s: _lines(out)[0].split() == [str(seed.WEB_REPLICAS + 1), "kwok-node-0"],
    ),
    (
        "kubectl",
        "get events | grep FailedScheduling",
        lambda out, s: "pod/stuck" in out and "didn't match" in out,
    ),
    (
        "kubectl",
        "get events --field-selector reason=FailedScheduling -o json | jq -r '.items[0].message'",
        lambda out, s: "node affinity/selector" in out,
    ),
    ("kubectl", "describe pod stuck | grep -A3 Events", lambda out, s: "FailedScheduling" in out),
    ("helm", "get values shop -o json | jq -r .image.tag", lambda out, s: out == "5.1.0\n"),
    (
        "helm",
        "get values shop -o json | jq '.settings | length'",
        lambda out, s: out.strip() == str(seed.VALUE_KEYS),
    ),
    (
        "helm",
        "get values shop | grep -c enabled",
        lambda out, s: out.strip() == str(seed.VALUE_KEYS),
    ),
    ("helm", "list -o json | jq -r '.[].name'", lambda out, s: out == "shop\n"),
]


@pytest.mark.parametrize(
    ("tool", "command", "check"), QUESTIONS, ids=[f"{t} {c}"[:60] for t, c, _ in QUESTIONS]
)
def test_filters_answer_agent_questions_through_every_entry(
    entry: Entry, cluster_a: Cluster, seeded: str, tool: str, command: str, check: Any
) -> None:
    if entry.name in SPACED_ONLY and re.search(r"\S\|\S", command.split("'")[0]):
        command = re.sub(r"(\S)\|(\S)", r"\1 | \2", command)  # a shell would keep `a|b` whole
    out = entry(tool, command, kubeconfig=cluster_a.admin_kubeconfig_b64, namespace=seeded)
    assert out.ok, (out.error, out.exit_code, out.stderr[:300])
    assert check(out.stdout, seeded), out.stdout[:500]


@pytest.mark.parametrize(
    "stage",
    ["sort -o /tmp/k8smcp-output-never", "grep -f /etc/passwd", "jq env", "sh", "xargs rm"],
)
def test_a_refused_stage_is_denied_with_the_filter_rule(
    entry: Entry, cluster_a: Cluster, seeded: str, stage: str
) -> None:
    out = entry("kubectl", f"get pods | {stage}", kubeconfig=cluster_a.admin_kubeconfig_b64)
    assert out.error == "denied", out
    assert "rule filter" in out.stderr


def _read_all(entry: Entry, kc: str, ns: str, tool: str, command: str, **extra: int) -> str:
    """Every part of a cut answer, read on with offset; returns them joined."""
    first = entry(tool, command, kubeconfig=kc, namespace=ns, arguments=extra or None)
    assert first.ok, first
    notice = NOTICE.search(first.stdout)
    assert notice, first.stdout[-500:]
    parts = [NOTICE.sub("", first.stdout)]
    found = NEXT.search(notice.group(0))
    while found:
        arguments = {**extra, "offset": int(found.group(1))}
        part = entry(tool, command, kubeconfig=kc, namespace=ns, arguments=arguments)
        assert part.ok, part
        notice = NOTICE.search(part.stdout)
        parts.append(NOTICE.sub("", part.stdout))
        found = NEXT.search(notice.group(0)) if notice else None
    return "".join(parts)


@pytest.mark.parametrize("door", ["stdio", "mcp_http", "rest"])
@pytest.mark.parametrize(
    ("tool", "command"),
    [("kubectl", "get pods -l app=web -o yaml"), ("helm", "get values shop")],
)
def test_a_cut_answer_reads_on_to_exactly_the_whole_output(
    entries: dict[str, Entry], cluster_a: Cluster, seeded: str, door: str, tool: str, command: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    whole = entries["run"](tool, command, kubeconfig=kc, namespace=seeded)
    assert whole.ok and len(whole.stdout.encode()) > BUDGET
    extra = {"max_bytes": BUDGET} if door == "rest" else {}  # MCP: the server's default
    first = entries[door](tool, command, kubeconfig=kc, namespace=seeded, arguments=extra or None)
    body = NOTICE.sub("", first.stdout)
    assert len(body.encode()) <= BUDGET
    notice = NOTICE.search(first.stdout).group(0)
    assert f"answer budget {BUDGET} bytes" in notice and "To ask for less" in notice
    assert _read_all(entries[door], kc, seeded, tool, command, **extra) == whole.stdout


def test_a_call_may_ask_for_more_up_to_the_servers_maximum(
    entries: dict[str, Entry], cluster_a: Cluster, seeded: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    big = entries["mcp_http"](
        "kubectl", "get pods -o yaml", kubeconfig=kc, namespace=seeded,
        arguments={"max_bytes": 64_000},
    )  # fmt: skip
    assert 50_000 < len(NOTICE.sub("", big.stdout).encode()) <= 64_000
    too_big = entries["mcp_http"](
        "kubectl", "get pods", kubeconfig=kc, namespace=seeded, arguments={"max_bytes": 64_001}
    )
    assert too_big.error is not None


@pytest.mark.parametrize("door", ["stdio", "mcp_http", "rest"])
def test_logs_and_events_keep_their_end(
    entries: dict[str, Entry], cluster_a: Cluster, seeded: str, door: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    entry = entries[door]
    pod = entry("kubectl", "get pods -l app=web -o name | head -1", kubeconfig=kc, namespace=seeded)
    name = pod.stdout.strip()
    logs = entry(
        "kubectl", f"logs {name}", kubeconfig=kc, namespace=seeded, arguments={"max_bytes": 60}
    )  # noqa: E501
    first, *rest = logs.stdout.splitlines()
    assert NOTICE.match(first + "\n") and "offset=0" in first, logs.stdout
    assert rest == ["k8smcp testbed cluster a: log line 3"]
    tail = entry("kubectl", f"logs {name} | tail -n 1", kubeconfig=kc, namespace=seeded)
    assert tail.stdout == "k8smcp testbed cluster a: log line 3\n"
    events = entry(
        "kubectl", "get events", kubeconfig=kc, namespace=seeded, arguments={"max_bytes": 4000}
    )  # noqa: E501
    first, *rest = events.stdout.splitlines()
    assert "before them" in first and "--tail=N" in first, first
    assert len("\n".join(rest).encode()) <= 4000 and not NOTICE.search(
        events.stdout.split("\n", 1)[1]
    )  # noqa: E501


@pytest.mark.parametrize("door", ["mcp_http", "rest"])
def test_a_command_that_changes_the_cluster_is_not_run_again_for_a_part(
    entries: dict[str, Entry], cluster_a: Cluster, seeded: str, door: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    out = entries[door](
        "kubectl", "label pod stuck checked=yes --overwrite", kubeconfig=kc, namespace=seeded,
        arguments={"offset": 10},
    )  # fmt: skip
    assert out.error is not None and "change the cluster" in out.stderr
    labels = cluster_a.kubectl("get", "pod", "stuck", "-n", seeded, "--show-labels").stdout
    assert "checked=yes" not in labels


SECRET_FILTERS = [
    "get secret db -o yaml",  # no filter: the budget alone (over MCP)
    "get secrets -o json",
    "get secret db -o json | jq .data",
    "get secret db -o json | jq -r .data.password",
    "get secret db -o json | jq -r '.data.password | @base64d'",
    "get secret db -o json | jq -r '.data | to_entries[] | .value'",
    "get secret db -o json | jq -r '.metadata.annotations'",
    "get secret db -o json | jq -c .",
    "get secrets -o json | jq -r '.items[].data.password'",
    "get secrets -o yaml | grep password",
    "get secret db -o yaml | grep -A3 data",
    "get secret db -o yaml | grep -i hunter",
    "get secret db -o yaml | sort | uniq",
    "get secret db -o json | jq -r '.metadata.annotations[]' | jq -r .stringData.password",
]


@pytest.mark.parametrize("door", SERVER_ENTRIES)
def test_filters_on_secrets_leak_nothing_on_a_server(
    entries: dict[str, Entry], cluster_a: Cluster, seeded: str, door: str
) -> None:
    kc = cluster_a.admin_kubeconfig_b64
    value = seed.SECRET_VALUE.encode()
    forbidden = [seed.SECRET_VALUE, base64.b64encode(value).decode()]
    seen_redacted = 0
    for command in SECRET_FILTERS:
        out = entries[door]("kubectl", command, kubeconfig=kc, namespace=seeded)
        text = out.stdout + out.stderr
        assert not any(f in text for f in forbidden), (command, text[:500])
        seen_redacted += "<redacted>" in text
    assert seen_redacted >= 8  # the values were there, and were replaced
    if door != "call":  # a small budget: every cut part of a Secret leaks nothing either
        for offset in (None, 0, 150, 300):
            arguments = {"max_bytes": 150, **({} if offset is None else {"offset": offset})}
            out = entries[door](
                "kubectl", "get secret db -o yaml", kubeconfig=kc, namespace=seeded,
                arguments=arguments,
            )  # fmt: skip
            assert not any(f in out.stdout + out.stderr for f in forbidden), out
    refused = entries[door](
        "kubectl", "get secret db -o jsonpath='{.data}' | head -1", kubeconfig=kc, namespace=seeded
    )
    assert refused.error == "denied" and "secret-output" in refused.stderr


def test_parts_join_up_across_two_replicas(
    cluster_a: Cluster,
    seeded: str,
    testbed_server: Server,
    testbed_env: dict[str, str],
    start_server: Any,
) -> None:
    """No state between calls: each part may come from another replica (it re-runs)."""
    other = start_server(env=testbed_env)
    kc = cluster_a.kubeconfig_b64(namespace=seeded)
    headers = {"X-Kubeconfig": kc}
    command = "get pods -l app=api -o yaml"
    whole = testbed_server.post("kubectl", {"command": command}, headers=headers).json()
    parts, offset, turn = [], 0, 0
    while True:
        server = (testbed_server, other)[turn % 2]
        body = {"command": command, "max_bytes": 20_000, "offset": offset}
        answer = server.post("kubectl", body, headers=headers).json()
        parts.append(NOTICE.sub("", answer["stdout"]))
        found = NEXT.search(answer["stdout"])
        if found is None:
            break
        offset, turn = int(found.group(1)), turn + 1
    assert turn >= 3  # several parts, from both replicas
    assert "".join(parts) == whole["stdout"]
