"""The policy owns every decision before a command runs (issue 13 part 4, issue 14's argv
classes): names to resolve come back to the caller, redaction mode's refusals are policy
rules, the defaults follow where the server listens, and bad input is a clear error.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from k8smcp import kubeconfig as kc
from k8smcp.config import Options, Settings, build_settings
from k8smcp.errors import KubeconfigError, PolicyDeniedError
from k8smcp.policy import Lookups, Policy, check_command, check_kubeconfig, resolve_names
from k8smcp.redact import REDACTED, redact_argv
from k8smcp.secrets import REDACTED as SECRETS_REDACTED
from k8smcp.service import Service, ToolCall
from tests.conftest import b64, make_kubeconfig


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.1.1", False),
    ],
)
def test_serve_beyond_loopback_refuses_loopback(host: str, loopback: bool) -> None:
    settings = build_settings("server", Options(host=host, auth_token="t"))
    assert settings.policy.allow_loopback is loopback
    assert build_settings("local", Options(host=host)).policy.allow_loopback


def test_lookups_collect_names_once_and_finish_in_order() -> None:
    policy = Policy.server(denied_servers=("10.0.0.0/8",))
    lookups = Lookups()
    config = make_kubeconfig("https://api.a.test:6443", extra_contexts={"b": "https://b.test"})
    check_kubeconfig(policy, config, lookups=lookups)
    check_command(policy, "kubectl", ["apply", "-f", "https://api.a.test/x.yaml"], lookups=lookups)
    assert lookups.names == ("api.a.test", "b.test")
    with pytest.raises(PolicyDeniedError, match=r"b\.test \(10\.2\.3\.4\) is on the operator"):
        lookups.finish({"api.a.test": ["203.0.113.1"], "b.test": ["10.2.3.4"]})


def test_resolve_names_never_raises() -> None:
    def resolver(name: str) -> list[str]:
        raise OSError("no such host")

    assert resolve_names(resolver, ["x.test"]) == {"x.test": []}


def test_the_service_resolves_each_name_once_in_a_thread() -> None:
    asked: list[str] = []

    def resolver(name: str) -> list[str]:
        asked.append(name)
        return ["169.254.1.1"]

    service = Service(Settings(policy=Policy.server(resolver=resolver)))
    call = ToolCall(
        tool="helm",
        command="template web x --repo https://charts.c.test",
        kubeconfig=b64(make_kubeconfig("https://api.c.test:6443")),
    )

    async def go() -> None:
        with pytest.raises(PolicyDeniedError, match="charts.c.test"):
            await service.call_tool(call)
        await service.aclose()

    anyio.run(go)
    assert asked == ["charts.c.test"]  # refused at the command; the kubeconfig never asked


@pytest.mark.parametrize("redact", [True, False])
def test_redaction_mode_is_the_policys_switch(redact: bool) -> None:
    service = Service(Settings(policy=Policy.server(redact_secrets=redact)))
    call = ToolCall(
        tool="kubectl",
        command="get secret db -o jsonpath={.data} -v=9",
        kubeconfig=b64(make_kubeconfig("https://127.0.0.1:1")),
        timeout=5,
    )

    async def go() -> Any:
        try:
            return await service.call_tool(call)
        finally:
            await service.aclose()

    if redact:
        with pytest.raises(PolicyDeniedError) as denied:
            anyio.run(go)
        assert denied.value.extra["rule"] == "verbosity"
    else:  # not refused: kubectl runs, and fails to connect
        assert anyio.run(go).exit_code != 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("!!timestamp 2020-01-01: x\n", "key that is not a string"),
        ("? !!binary aGk=\n: x\n", "key that is not a string"),
        ("1: x\n", "key that is not a string"),
        ("clusters: [{name: c, cluster: {server: !!binary aGk=}}]\n", "holds a YAML bytes"),
        ("preferences: !!set {a, b}\n", "holds a YAML set"),
    ],
)
def test_a_kubeconfig_json_cannot_carry_is_a_kubeconfig_error(text: str, problem: str) -> None:
    with pytest.raises(KubeconfigError, match=problem):
        kc.parse(text.encode(), max_bytes=65536)


def test_dates_stay_strings() -> None:
    config = make_kubeconfig("https://127.0.0.1:1")
    text = "preferences: {x: 2020-01-01}\n" + "\n".join(f"{k}: {v!r}" for k, v in config.items())
    parsed = kc.parse(text.replace("'", '"').encode(), max_bytes=65536)
    assert parsed.data["preferences"] == {"x": "2020-01-01"}
    assert b"2020-01-01" in parsed.render()


def test_a_cluster_without_a_server_is_checked_as_localhost_8080_at_local_level() -> None:
    config = make_kubeconfig("https://10.0.0.1:6443")
    config["clusters"][0]["cluster"]["server"] = ""
    check_kubeconfig(Policy.local(), config)  # the user's own machine
    with pytest.raises(PolicyDeniedError, match="deny list"):
        check_kubeconfig(
            Policy.local(denied_servers=("127.0.0.0/8",), resolver=lambda h: ["127.0.0.1"]),
            config,
        )
    with pytest.raises(PolicyDeniedError, match="localhost:8080"):
        check_kubeconfig(Policy.server(), config)


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["set", "env", "deploy/x", "DB_PASSWORD=p1"], ["set", "env", "deploy/x", "DB_PASSWORD=R"]),
        (["run", "x", "--env=API_KEY=p1"], ["run", "x", "--env=API_KEY=R"]),
        (["run", "x", "-e", "PGPASS=p1"], ["run", "x", "-e", "PGPASS=R"]),
        (["exec", "p", "--", "env", "AWS_SECRET_ACCESS_KEY=p1"], None),
        (["set", "env", "deploy/x", "LOG_LEVEL=debug", "PATH=/bin"], "same"),
        (["label", "pod", "x", "passing=yes", "keyboard=n"], "same"),
        (["set", "env", "deploy/x", "TOKEN="], "same"),  # nothing to hide
    ],
)
def test_secret_looking_key_values_are_redacted(args: list[str], shown: Any) -> None:
    out = redact_argv(args)
    if shown == "same":
        assert out == args
    elif shown is None:
        assert "p1" not in " ".join(out)
    else:
        assert out == [a.replace("=R", f"={REDACTED}") for a in shown]


def test_one_redaction_marker() -> None:
    assert REDACTED == SECRETS_REDACTED == "<redacted>"
