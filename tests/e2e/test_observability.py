"""What an operator sees of a running server: Prometheus metrics and JSON logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import b64, k8smcp_env, make_kubeconfig

KC = b64(make_kubeconfig())


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        sample, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in sample for k, v in labels.items()):
            return float(value)
    return 0.0


def test_metrics_count_calls_outcomes_denials_truncations_and_timeouts(
    start_server: Any, fake_cli: Path
) -> None:
    server = start_server(
        "--max-output-bytes", "100", env=k8smcp_env(K8SMCP_KUBECTL_BIN=str(fake_cli))
    )
    server.post("kubectl", {"command": "get env", "kubeconfig": KC})
    server.post("kubectl", {"command": "get exit 2", "kubeconfig": KC})
    server.post("kubectl", {"command": "get sleep 10", "timeout": 0.5, "kubeconfig": KC})
    server.post("kubectl", {"command": "proxy", "kubeconfig": KC})
    text = httpx.get(f"{server.url}/metrics").text
    assert metric(text, "k8smcp_calls_total", tool="kubectl", entry="rest", outcome="ok") == 1
    assert metric(text, "k8smcp_calls_total", outcome="failed") == 1
    assert metric(text, "k8smcp_calls_total", outcome="timeout") == 1
    assert metric(text, "k8smcp_calls_total", outcome="denied") == 1
    assert metric(text, "k8smcp_denials_total", rule="verb-denied") == 1
    assert metric(text, "k8smcp_timeouts_total", tool="kubectl") == 1
    assert metric(text, "k8smcp_truncations_total", tool="kubectl") >= 1  # env is > 100 bytes
    assert metric(text, "k8smcp_call_duration_seconds_count", tool="kubectl") == 3
    assert metric(text, "k8smcp_calls_in_flight") == 0


def test_json_logs_carry_the_audit_record(start_server: Any) -> None:
    server = start_server("--log-format", "json")
    server.post("kubectl", {"command": "version --client", "kubeconfig": KC})
    server.stop()
    records = [json.loads(line) for line in server.log.read_text().splitlines() if line]
    assert {"time", "level", "logger"} <= set(records[0])
    audits = [r["audit"] for r in records if r["logger"] == "k8smcp.audit"]
    assert audits[0]["tool"] == "kubectl" and audits[0]["outcome"] == "ok"
    assert audits[0]["args"] == ["version", "--client"]
