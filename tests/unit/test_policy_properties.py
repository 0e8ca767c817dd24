"""Property-based tests of the command parser and policy (hypothesis).

Invariant: at server level, an argument list that carries a denied flag, in any spelling
(``--f=v``, ``--f v``, ``-s v``, ``-sv``, ``-s=v``, inside a bundle, odd case or
underscores), anywhere before ``--`` (before or after the command, between other flags,
in place of another flag's value) never passes ``check_command``. Benign lists built
from the same pieces do pass, so the property is not satisfied by refusing everything.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8smcp.errors import PolicyDeniedError
from k8smcp.policy import Policy, check_command, check_url
from k8smcp.tools import TOOLS

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The benign pieces include output that redaction cannot read (`-ojsonpath` with `-f -`,
# helm --debug): the rules of redaction mode have their own properties below.
POLICY = Policy.server(resolver=lambda host: ["203.0.113.7"], redact_secrets=False)
REDACTING = Policy.server(resolver=lambda host: ["203.0.113.7"])

# Benign pieces per tool: (global flags valid before the command, commands, flags after)
BENIGN: dict[str, tuple[list[list[str]], list[list[str]], list[list[str]]]] = {
    "kubectl": (
        [
            ["-n", "apps"],
            ["--namespace=apps"],
            ["-napps"],
            ["--context", "other"],
            ["-v", "4"],
            ["--request-timeout=5s"],
            ["--cluster", "c2"],
            ["--user=u2"],
            ["--match-server-version"],
        ],
        [
            ["get", "pods"],
            ["describe", "deploy", "web"],
            ["logs", "web"],
            ["delete", "pod", "x"],
            ["diff"],
            ["top", "pod"],
            ["rollout", "status", "deploy/web"],
            ["scale", "deploy/web"],
            ["label", "pod", "x", "a=b"],
            ["create", "deployment", "web", "--image=nginx"],
        ],
        [
            ["-o", "json"],
            ["-ojsonpath={.items[*].metadata.name}"],
            ["-l", "app=web"],
            ["-A"],
            ["--field-selector", "status.phase=Running"],
            ["-w"],
            ["--show-labels"],
            ["--sort-by=.metadata.name"],
            ["--dry-run=client"],
            ["-f", "-"],
        ],
    ),
    "helm": (
        [["-n", "apps"], ["--kube-context", "other"], ["--debug"], ["--burst-limit=50"]],
        [
            ["list"],
            ["status", "web"],
            ["history", "web"],
            ["get", "values", "web"],
            ["install", "web", "mychart"],
            ["upgrade", "web", "mychart"],
            ["template", "web", "c"],
        ],
        [
            ["-o", "json"],
            ["--repo", "https://charts.example.com"],
            ["--version", "1.2.3"],
            ["--set", "a=b"],
            ["-f", "-"],
            ["--wait"],
            ["--timeout=5m"],
            ["--atomic"],
        ],
    ),
    "istioctl": (
        [["-n", "apps"], ["--context", "other"], ["-i", "istio-system"]],
        [["analyze"], ["proxy-status"], ["pc", "routes", "web"], ["version"]],
        [["-o", "json"], ["-A"], ["--revision", "canary"]],
    ),
    "argocd": (
        [["--core"], ["--kube-context", "other"], ["--loglevel", "warn"]],
        [["app", "list"], ["app", "get", "web"], ["proj", "list"], ["app", "sync", "web"]],
        [["--core"], ["-o", "json"], ["-l", "a=b"], ["--prune"]],
    ),
}
CORE = {"argocd": ["--core"]}


def _denied_flags(tool: str) -> list[str]:
    rules = TOOLS[tool].rules
    return sorted(rules.target | rules.impersonation | rules.binary)


def _shorts_for(tool: str, name: str) -> list[str]:
    grammar = TOOLS[tool].grammar
    return sorted(
        {k for k, v in grammar.global_shorts.items() if v == name}
        | {k for k, v in grammar.local_shorts.items() if v == name}
    )


value_text = st.text(alphabet=st.sampled_from("abcxyz019:/._=@-"), min_size=1, max_size=20).filter(
    lambda v: not v.startswith("-")
)


@st.composite
def spelled_denied_flag(draw, tool: str) -> list[str]:
    """One denied flag of ``tool`` in one of its spellings, as argument tokens."""
    grammar = TOOLS[tool].grammar
    name = draw(st.sampled_from(_denied_flags(tool)))
    value = draw(value_text)
    takes_value = grammar.takes_value(name)
    long_spelling = draw(st.sampled_from([name, name.upper(), name.replace("-", "_"), "-" + name]))
    options = [[f"--{long_spelling}={value}"]]
    if takes_value:
        options.append([f"--{long_spelling}", value])
    else:
        options.append([f"--{long_spelling}"])
    for letter in _shorts_for(tool, name):
        bools = [
            k
            for k, v in grammar.shorts(("x",)).items()
            if not grammar.takes_value(v) and v != "help"
        ]
        prefix = "".join(draw(st.lists(st.sampled_from(bools), max_size=2))) if bools else ""
        options += [[f"-{letter}", value], [f"-{letter}{value}"], [f"-{letter}={value}"]]
        options += [[f"-{prefix}{letter}", value], [f"-{prefix}{letter}={value}"]]
    return draw(st.sampled_from(options))


@st.composite
def benign_command(draw, tool: str) -> list[str]:
    before, commands, after = BENIGN[tool]
    args: list[str] = []
    for piece in draw(st.lists(st.sampled_from(before), max_size=3)):
        args += piece
    args += draw(st.sampled_from(commands))
    for piece in draw(st.lists(st.sampled_from(after), max_size=4)):
        args += piece
    args += CORE.get(tool, [])
    return args


@st.composite
def command_with_denied_flag(draw, tool: str) -> list[str]:
    args = draw(benign_command(tool))
    flag = draw(spelled_denied_flag(tool))
    at = draw(st.integers(min_value=0, max_value=len(args)))
    return [*args[:at], *flag, *args[at:]]


@pytest.mark.parametrize("tool", sorted(BENIGN))
@SETTINGS
@given(data=st.data())
def test_benign_commands_pass(tool, data):
    args = data.draw(benign_command(tool))
    check_command(POLICY, tool, args)


@pytest.mark.parametrize("tool", sorted(BENIGN))
@SETTINGS
@given(data=st.data())
def test_a_denied_flag_never_passes(tool, data):
    args = data.draw(command_with_denied_flag(tool))
    with pytest.raises(PolicyDeniedError):
        check_command(POLICY, tool, args)


@pytest.mark.parametrize("tool", sorted(BENIGN))
@SETTINGS
@given(data=st.data())
def test_a_denied_flag_in_arbitrary_token_soup_never_passes(tool, data):
    """Random tokens (flags of every kind, words, `-`), then a denied flag somewhere."""
    grammar = TOOLS[tool].grammar
    known = sorted(
        grammar.global_value | grammar.global_bool | grammar.local_value | grammar.local_bool
    )
    token = st.one_of(
        st.sampled_from(known).map(lambda n: "--" + n),
        st.sampled_from(sorted(grammar.shorts(("x",)))).map(lambda c: "-" + c),
        value_text,
        st.just("-"),
    )
    soup = data.draw(st.lists(token, max_size=8))
    flag = data.draw(spelled_denied_flag(tool))
    at = data.draw(st.integers(min_value=0, max_value=len(soup)))
    args = [*soup[:at], *flag, *soup[at:]]
    with pytest.raises(PolicyDeniedError):
        check_command(POLICY, tool, args)


SHELL = ["|", "||", "&&", ";", ">", ">>", "<", "&", "`id`", "$(id)", "x;", "|grep", "2>/dev/null"]


@pytest.mark.parametrize("tool", sorted(BENIGN))
@SETTINGS
@given(data=st.data())
def test_shell_syntax_never_passes_at_any_level(tool, data):
    args = data.draw(benign_command(tool))
    at = data.draw(st.integers(min_value=0, max_value=len(args)))
    args.insert(at, data.draw(st.sampled_from(SHELL)))
    for policy in (POLICY, Policy.local()):
        with pytest.raises(PolicyDeniedError) as info:
            check_command(policy, tool, args)
        assert info.value.extra["rule"] == "shell"


DENIED_KUBECTL_VERBS = [
    "proxy",
    "port-forward",
    "attach",
    "edit",
    "cp",
    "plugin",
    "krew",
    "foo",
    "kustomize",
]


@SETTINGS
@given(data=st.data())
def test_denied_kubectl_commands_never_pass_behind_global_flags(data):
    before, _, after = BENIGN["kubectl"]
    args: list[str] = []
    for piece in data.draw(st.lists(st.sampled_from(before), max_size=4)):
        args += piece
    args.append(data.draw(st.sampled_from(DENIED_KUBECTL_VERBS)))
    for piece in data.draw(st.lists(st.sampled_from(after[:6]), max_size=3)):
        args += piece
    with pytest.raises(PolicyDeniedError):
        check_command(POLICY, "kubectl", args)


@SETTINGS
@given(
    address=st.integers(min_value=0, max_value=2**16 - 1).map(
        lambda n: ipaddress.IPv4Address((169 << 24) | (254 << 16) | n)
    ),
    form=st.sampled_from(["{v4}", "[::ffff:{v4}]", "[64:ff9b::{v4}]"]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_link_local_addresses_never_pass(address, form, scheme):
    url = f"{scheme}://{form.format(v4=address)}:443/x"
    with pytest.raises(PolicyDeniedError):
        check_url(POLICY, url, field="server")
