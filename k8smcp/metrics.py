"""Prometheus metrics of a serving process, exposed at /metrics.

Only ``k8smcp serve`` imports this module (prometheus_client costs ~80 ms to import):
the service reports each finished call to an ``Observer`` and this is the one that
counts. Labels never carry arguments, namespaces or hosts: only the tool, the door the
call came through, its outcome and a denial's rule, so the series stay few.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from k8smcp.service import Finished

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The counters of one server, in a registry of its own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "k8smcp_calls",
            "Tool calls by tool, entry point and outcome (ok, failed, timeout, denied, error, "
            "cancelled).",
            ["tool", "entry", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "k8smcp_call_duration_seconds",
            "Time from request to result, commands that ran.",
            ["tool"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "k8smcp_calls_in_flight", "Calls being handled now.", registry=self.registry
        )
        self.denials = Counter(
            "k8smcp_denials",
            "Calls refused by the policy, by rule.",
            ["rule"],
            registry=self.registry,
        )
        self.truncations = Counter(
            "k8smcp_truncations",
            "Results whose output went over the cap.",
            ["tool"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "k8smcp_timeouts", "Commands killed on timeout.", ["tool"], registry=self.registry
        )

    def started(self) -> None:
        """A call came in."""
        self.in_flight.inc()

    def finished(self, call: Finished) -> None:
        """A call ended, however it ended (cancelled too)."""
        self.in_flight.dec()
        self.calls.labels(tool=call.tool, entry=call.entry, outcome=call.outcome).inc()
        if call.outcome in ("ok", "failed", "timeout"):
            self.duration.labels(tool=call.tool).observe(call.seconds)
        if call.outcome == "timeout":
            self.timeouts.labels(tool=call.tool).inc()
        if call.rule is not None:
            self.denials.labels(rule=call.rule).inc()
        if call.truncated:
            self.truncations.labels(tool=call.tool).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
