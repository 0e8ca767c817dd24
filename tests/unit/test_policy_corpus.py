"""Every case of the hostile-input corpus is refused by the server-level policy.

Invariant: each case is split and parsed exactly as the service does it, then refused by
exactly one of check_command / check_kubeconfig, with the case's expected rule; the other
check lets it through, so the rule does not depend on which check runs first. No case
depends on DNS.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from k8smcp import kubeconfig
from k8smcp.config import DEFAULT_MAX_KUBECONFIG_BYTES
from k8smcp.errors import PolicyDeniedError
from k8smcp.pipeline import split_pipeline
from k8smcp.policy import RULES, Policy, check_command, check_kubeconfig, system_resolver
from k8smcp.policy.filters import check_filters
from k8smcp.service import split_command
from k8smcp.tools import get_tool
from tests.security.corpus import load

MARKER_DIR = "/nonexistent/k8smcp-corpus-markers"
CASES = load(canary_port=39999, marker_dir=MARKER_DIR)
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.:]+$")


def numeric_only_resolver(host: str) -> list[str]:
    """The system resolver, for numeric spellings only (2852039166, 0xa9fea9fe)."""
    if not _NUMERIC_HOST.match(host):
        raise AssertionError(f"corpus case needs DNS for {host!r}")
    return system_resolver(host)


POLICY = Policy.server(resolver=numeric_only_resolver)


def _rule(check) -> str | None:
    try:
        check()
    except PolicyDeniedError as exc:
        return str(exc.extra["rule"])
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_is_refused_with_its_rule(case):
    command, stages = split_pipeline(case.command)  # as the service does: filters apart
    args = split_command(get_tool(case.tool), command)
    config = kubeconfig.parse(case.kubeconfig.encode(), max_bytes=DEFAULT_MAX_KUBECONFIG_BYTES)
    by_command = _rule(
        lambda: (check_command(POLICY, case.tool, args, stdin=case.stdin), check_filters(stages))
    )
    by_kubeconfig = _rule(lambda: check_kubeconfig(POLICY, config.data))
    assert (by_command, by_kubeconfig).count(None) == 1, (by_command, by_kubeconfig)
    assert (by_command or by_kubeconfig) == case.expected_rule


def test_corpus_is_big_unique_and_covers_every_rule():
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES)
    # read-only is an operator mode; secret-output and verbosity are the rules of
    # redaction mode, on at server level
    assert {c.expected_rule for c in CASES} == set(RULES) - {"read-only"}
    assert {c.tool for c in CASES} == {"kubectl", "helm", "istioctl", "argocd"}
    assert min(Counter(c.tool for c in CASES).values()) >= 15


def test_placeholders_are_all_substituted():
    for case in CASES:
        for text in (case.command, case.kubeconfig):
            assert "{canary_port}" not in text and "{marker_dir}" not in text


def test_credentials_in_the_corpus_point_only_at_the_canary():
    for case in CASES:
        data = kubeconfig.parse(
            case.kubeconfig.encode(), max_bytes=DEFAULT_MAX_KUBECONFIG_BYTES
        ).data
        main = next(c for c in data["clusters"] if c["name"] == "main")
        if case.attack not in ("ssrf-server", "ssrf-proxy"):
            assert main["cluster"]["server"] == "https://127.0.0.1:39999", case.id


def test_exec_probes_write_their_marker():
    probes = [c for c in CASES if "touch" in c.kubeconfig or "touch" in c.command]
    assert len(probes) >= 20
    for case in probes:
        assert str(case.marker(MARKER_DIR)) in case.kubeconfig + case.command, case.id
