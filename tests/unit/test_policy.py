"""k8smcp.policy: every rule refuses what it should and lets through what it should.

Invariant: at server level a refusal is a PolicyDeniedError carrying the rule id as
``rule`` and a message naming the field or flag and the rule, never a credential; at
local level only what an operator tightens is refused.
"""

from __future__ import annotations

import copy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from k8smcp.errors import PolicyDeniedError, error_body
from k8smcp.policy import (
    RULES,
    Policy,
    check_command,
    check_kubeconfig,
    check_url,
    is_read_only,
)
from k8smcp.policy.tools.kubectl import GRAMMAR as KUBECTL
from k8smcp.tools import TOOLS

ADDRESSES = {
    "api.example.com": ["203.0.113.10"],
    "internal.example.com": ["10.1.2.3"],
    "rebind.example.com": ["203.0.113.11", "169.254.169.254"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
    "charts.example.com": ["203.0.113.20"],
    "metadata.example.com": ["100.100.100.200"],
}
TOKEN = "tok-SECRET-0123456789abcdef"


def resolver(host: str) -> list[str]:
    try:
        return ADDRESSES[host]
    except KeyError:
        raise OSError(f"{host} does not resolve") from None


def server(**overrides: Any) -> Policy:
    return Policy.server(resolver=resolver, **overrides)


def local(**overrides: Any) -> Policy:
    return Policy.local(resolver=resolver, **overrides)


def denied_rule(fn: Any, *args: Any, **kwargs: Any) -> str | None:
    try:
        fn(*args, **kwargs)
    except PolicyDeniedError as exc:
        assert exc.extra["rule"] in RULES
        assert f"(rule {exc.extra['rule']})" in exc.message
        return str(exc.extra["rule"])
    return None


# --- Policy ---------------------------------------------------------------------------


def test_default_policy_is_the_server_level():
    assert Policy() == Policy.server()
    assert Policy().level == "server"
    assert not Policy().allow_local_files and not Policy().allow_impersonation


def test_local_level_allows_files_impersonation_and_registry_login():
    policy = Policy.local()
    assert policy.level == "local"
    assert policy.allow_local_files and policy.allow_impersonation and policy.allow_registry_login


def test_overrides_apply_on_top_of_the_level():
    assert Policy.local(read_only=True).read_only
    assert Policy.server(allow_local_files=True).allow_local_files
    assert Policy.server(allow_local_files=True).level == "server"


def test_refusal_is_a_403_with_the_rule_in_the_body():
    with pytest.raises(PolicyDeniedError) as info:
        check_command(server(), "kubectl", ["proxy"])
    body = error_body(info.value)
    assert body["status"] == 403 and body["error"] == "denied" and body["rule"] == "verb-denied"
    assert info.value.exit_code == 4


# --- address policy --------------------------------------------------------------------

URL_CASES = [
    # url, policy overrides, expected rule (None: allowed)
    ("https://api.example.com:6443", {}, None),
    ("https://127.0.0.1:6443", {}, None),
    ("https://localhost:6443", {}, None),
    ("https://[::1]:6443", {}, None),
    ("https://10.1.2.3", {}, None),
    ("https://169.254.169.254/latest/meta-data", {}, "address"),
    ("http://169.254.169.254", {}, "address"),
    ("https://169.254.10.10", {}, "address"),
    ("https://[fe80::1]", {}, "address"),
    ("https://[fe80::1%25eth0]", {}, "address"),
    ("https://[fd00:ec2::254]", {}, "address"),
    ("https://[::ffff:169.254.169.254]", {}, "address"),
    ("https://[::ffff:a9fe:a9fe]", {}, "address"),
    ("https://[64:ff9b::a9fe:a9fe]", {}, "address"),
    ("https://[2002:a9fe:a9fe::1]", {}, "address"),
    ("https://100.100.100.200", {}, "address"),
    ("https://metadata.google.internal", {}, "address"),
    ("https://METADATA.google.internal.", {}, "address"),
    ("https://metadata", {}, "address"),
    ("https://metadata.example.com", {}, "address"),
    ("https://rebind.example.com", {}, "address"),
    ("https://mapped.example.com", {}, "address"),
    ("https://0.0.0.0:6443", {}, "address"),
    ("https://[::]:6443", {}, "address"),
    ("https://nx.example.com", {}, "address"),
    ("https://user:pass@169.254.169.254", {}, "address"),
    ("https://api.example.com@169.254.169.254", {}, "address"),
    ("https://169.254.169.254#@api.example.com", {}, "address"),
    ("https://169.254.169.254\\@api.example.com", {}, "url"),
    ("https://a@b@169.254.169.254", {}, "url"),
    ("https://169%2e254%2e169%2e254", {}, "url"),
    ("https://api.example.com /x", {}, "url"),
    ("https://", {}, "url"),
    ("file:///etc/passwd", {}, "url"),
    ("gopher://api.example.com", {}, "url"),
    ("unix:///var/run/docker.sock", {}, "url"),
    ("not a url", {}, "url"),
    # operator lists
    ("https://api.example.com", {"denied_servers": ("api.example.com",)}, "address"),
    ("https://api.example.com", {"denied_servers": ("*.example.com",)}, "address"),
    ("https://api.example.com", {"denied_servers": ("203.0.113.0/24",)}, "address"),
    ("https://127.0.0.1", {"denied_servers": ("127.0.0.0/8",)}, "address"),
    ("https://localhost", {"denied_servers": ("127.0.0.0/8",)}, "address"),
    ("https://[::ffff:127.0.0.1]", {"denied_servers": ("127.0.0.0/8",)}, "address"),
    ("https://api.example.com", {"allowed_servers": ("api.example.com",)}, None),
    ("https://api.example.com", {"allowed_servers": ("*.example.com",)}, None),
    ("https://api.example.com", {"allowed_servers": ("203.0.113.0/24",)}, None),
    ("https://internal.example.com", {"allowed_servers": ("203.0.113.0/24",)}, "address"),
    ("https://internal.example.com", {"allowed_servers": ("api.example.com",)}, "address"),
    ("https://10.1.2.3", {"allowed_servers": ("api.example.com",)}, "address"),
    ("https://rebind.example.com", {"allowed_servers": ("rebind.example.com",)}, "address"),
    ("https://169.254.10.10", {"allowed_servers": ("169.254.10.0/24",)}, None),
    ("https://169.254.169.254", {"allowed_servers": ("169.254.0.0/16",)}, "address"),
]


@pytest.mark.parametrize(("url", "overrides", "rule"), URL_CASES)
def test_address_policy_at_server_level(url, overrides, rule):
    assert denied_rule(check_url, server(**overrides), url, field="server") == rule


@pytest.mark.parametrize(
    ("url", "overrides", "rule"),
    [
        ("https://169.254.169.254", {}, None),
        ("https://metadata.google.internal", {}, None),
        ("https://nx.example.com", {}, None),
        ("https://api.example.com", {"denied_servers": ("api.example.com",)}, "address"),
        ("https://10.1.2.3", {"allowed_servers": ("api.example.com",)}, "address"),
        ("file:///etc/passwd", {}, "url"),
    ],
)
def test_address_policy_at_local_level_applies_only_operator_lists(url, overrides, rule):
    assert denied_rule(check_url, local(**overrides), url, field="server") == rule


def test_local_level_without_lists_does_not_resolve():
    def failing(host: str) -> list[str]:
        raise AssertionError("resolved")

    check_url(Policy.local(resolver=failing), "https://api.example.com", field="server")


def test_address_message_names_host_not_credentials():
    with pytest.raises(PolicyDeniedError) as info:
        check_url(server(), f"https://user:{TOKEN}@169.254.169.254/x?token={TOKEN}", field="-f")
    assert TOKEN not in info.value.message
    assert "169.254.169.254" in info.value.message and info.value.message.startswith("-f:")


# --- kubeconfig ------------------------------------------------------------------------

BASE_KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "main",
    "clusters": [
        {
            "name": "main",
            "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="},
        },
        {"name": "other", "cluster": {"server": "https://api.example.com"}},
    ],
    "users": [
        {"name": "main", "user": {"token": TOKEN}},
        {"name": "basic", "user": {"username": "u", "password": TOKEN}},
        {"name": "cert", "user": {"client-certificate-data": "Qw==", "client-key-data": "Sw=="}},
    ],
    "contexts": [{"name": "main", "context": {"cluster": "main", "user": "main"}}],
}


def kubeconfig(section: str | None = None, index: int = 0, **fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_KUBECONFIG)
    if section is not None:
        inner = "cluster" if section == "clusters" else "user"
        data[section][index][inner].update(fields)
    return data


EXEC_SH = {
    "apiVersion": "client.authentication.k8s.io/v1",
    "command": "/bin/sh",
    "args": ["-c", "id"],
}
AWS = {
    "apiVersion": "client.authentication.k8s.io/v1",
    "command": "aws",
    "args": ["eks", "get-token", "--cluster-name", "c"],
}

KUBECONFIG_CASES = [
    # (name, data, server overrides, expected rule at server level)
    ("plain", kubeconfig(), {}, None),
    ("insecure-skip", kubeconfig("clusters", insecure_skip_tls_verify=True), {}, None),
    ("tls-server-name", kubeconfig("clusters", **{"tls-server-name": "x"}), {}, None),
    (
        "ca-file",
        kubeconfig("clusters", **{"certificate-authority": "/etc/ssl/ca.pem"}),
        {},
        "kubeconfig-file",
    ),
    (
        "ca-file-relative",
        kubeconfig("clusters", 1, **{"certificate-authority": "ca.pem"}),
        {},
        "kubeconfig-file",
    ),
    (
        "client-cert",
        kubeconfig("users", **{"client-certificate": "/etc/c.pem"}),
        {},
        "kubeconfig-file",
    ),
    ("client-key", kubeconfig("users", 2, **{"client-key": "/etc/k.pem"}), {}, "kubeconfig-file"),
    (
        "token-file",
        kubeconfig("users", tokenFile="/var/run/secrets/kubernetes.io/serviceaccount/token"),
        {},
        "kubeconfig-file",
    ),
    ("token-file-case", kubeconfig("users", TokenFile="/etc/shadow"), {}, "kubeconfig-file"),
    ("token-file-upper", kubeconfig("users", TOKENFILE="/etc/shadow"), {}, "kubeconfig-file"),
    ("token-file-empty", kubeconfig("users", tokenFile=""), {}, None),
    ("exec-sh", kubeconfig("users", exec=EXEC_SH), {}, "kubeconfig-exec"),
    (
        "exec-allowed-other",
        kubeconfig("users", exec=EXEC_SH),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-allowed",
        kubeconfig("users", exec=AWS),
        {"allowed_exec_plugins": frozenset({"aws"})},
        None,
    ),
    ("exec-aws-not-allowed", kubeconfig("users", exec=AWS), {}, "kubeconfig-exec"),
    (
        "exec-aws-by-path",
        kubeconfig("users", exec={**AWS, "command": "/tmp/x/aws"}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-relative",
        kubeconfig("users", exec={**AWS, "command": "./aws"}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-s3-args",
        kubeconfig("users", exec={**AWS, "args": ["s3", "cp", "/etc/passwd", "s3://x"]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-endpoint",
        kubeconfig("users", exec={**AWS, "args": ["eks", "get-token", "--endpoint-url=http://x"]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-ld-preload",
        kubeconfig("users", exec={**AWS, "env": [{"name": "LD_PRELOAD", "value": "/tmp/x.so"}]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-path-env",
        kubeconfig("users", exec={**AWS, "env": [{"name": "PATH", "value": "/tmp"}]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-config-file",
        kubeconfig("users", exec={**AWS, "env": [{"name": "AWS_CONFIG_FILE", "value": "/etc/x"}]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-region-env",
        kubeconfig("users", exec={**AWS, "env": [{"name": "AWS_REGION", "value": "eu-west-1"}]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        None,
    ),
    ("exec-no-command", kubeconfig("users", exec={"apiVersion": "v1"}), {}, "kubeconfig-exec"),
    (
        "exec-aws-file-param",
        kubeconfig(
            "users",
            exec={**AWS, "args": ["eks", "get-token", "--cluster-name", "file:///etc/shadow"]},
        ),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-aws-cli-input",
        kubeconfig("users", exec={**AWS, "args": ["eks", "get-token", "--cli-input-json", "{}"]}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-kubelogin-path-arg",
        kubeconfig(
            "users",
            exec={"command": "kubelogin", "args": ["get-token", "--client-certificate=/etc/x.pem"]},
        ),
        {"allowed_exec_plugins": frozenset({"kubelogin"})},
        "kubeconfig-exec",
    ),
    (
        "exec-kubelogin-ok",
        kubeconfig(
            "users", exec={"command": "kubelogin", "args": ["get-token", "--login", "azurecli"]}
        ),
        {"allowed_exec_plugins": frozenset({"kubelogin"})},
        None,
    ),
    (
        "exec-aws-endpoint-env",
        kubeconfig(
            "users", exec={**AWS, "env": [{"name": "AWS_ENDPOINT_URL_STS", "value": "http://x"}]}
        ),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    (
        "exec-command-twice",
        kubeconfig("users", exec={**AWS, "COMMAND": "/bin/sh"}),
        {"allowed_exec_plugins": frozenset({"aws"})},
        "kubeconfig-exec",
    ),
    ("exec-not-a-map", kubeconfig("users", exec="sh"), {}, "kubeconfig-exec"),
    ("exec-upper-key", kubeconfig("users", EXEC=EXEC_SH), {}, "kubeconfig-exec"),
    ("exec-unused-user", kubeconfig("users", 1, exec=EXEC_SH), {}, "kubeconfig-exec"),
    (
        "auth-provider-gcp",
        kubeconfig(
            "users", **{"auth-provider": {"name": "gcp", "config": {"cmd-path": "/bin/sh"}}}
        ),
        {},
        "kubeconfig-exec",
    ),
    (
        "auth-provider-oidc",
        kubeconfig(
            "users",
            **{
                "auth-provider": {
                    "name": "oidc",
                    "config": {"idp-issuer-url": "https://api.example.com"},
                }
            },
        ),
        {"allowed_exec_plugins": frozenset({"oidc"})},
        None,
    ),
    (
        "auth-provider-oidc-ca-file",
        kubeconfig(
            "users",
            **{
                "auth-provider": {"name": "oidc", "config": {"idp-certificate-authority": "/etc/x"}}
            },
        ),
        {"allowed_exec_plugins": frozenset({"oidc"})},
        "kubeconfig-file",
    ),
    (
        "auth-provider-oidc-metadata",
        kubeconfig(
            "users",
            **{
                "auth-provider": {
                    "name": "oidc",
                    "config": {"idp-issuer-url": "http://169.254.169.254"},
                }
            },
        ),
        {"allowed_exec_plugins": frozenset({"oidc"})},
        "address",
    ),
    (
        "auth-provider-cmd-path",
        kubeconfig(
            "users", **{"auth-provider": {"name": "oidc", "config": {"cmd-path": "/bin/sh"}}}
        ),
        {"allowed_exec_plugins": frozenset({"oidc"})},
        "kubeconfig-exec",
    ),
    ("server-metadata", kubeconfig("clusters", server="http://169.254.169.254"), {}, "address"),
    (
        "server-metadata-no-scheme",
        kubeconfig("clusters", server="169.254.169.254:80"),
        {},
        "address",
    ),
    (
        "server-unused-cluster",
        kubeconfig("clusters", 1, server="https://metadata.google.internal"),
        {},
        "address",
    ),
    ("server-nx", kubeconfig("clusters", server="https://nx.example.com"), {}, "address"),
    ("server-unix", kubeconfig("clusters", server="unix:///var/run/x.sock"), {}, "url"),
    (
        "server-denied",
        kubeconfig("clusters", server="https://api.example.com"),
        {"denied_servers": ("api.example.com",)},
        "address",
    ),
    ("server-not-allowed", kubeconfig(), {"allowed_servers": ("api.example.com",)}, "address"),
    (
        "server-allowed",
        kubeconfig(),
        {"allowed_servers": ("127.0.0.1/32", "api.example.com")},
        None,
    ),
    (
        "proxy-url-metadata",
        kubeconfig("clusters", **{"proxy-url": "http://169.254.169.254:3128"}),
        {},
        "address",
    ),
    (
        "proxy-url-socks",
        kubeconfig("clusters", **{"proxy-url": "socks5://127.0.0.1:1080"}),
        {},
        None,
    ),
    ("proxy-url-file", kubeconfig("clusters", **{"proxy-url": "file:///x"}), {}, "url"),
    ("impersonate", kubeconfig("users", **{"as": "system:admin"}), {}, "impersonation"),
    (
        "impersonate-groups",
        kubeconfig("users", **{"as-groups": ["system:masters"]}),
        {},
        "impersonation",
    ),
    (
        "impersonate-allowed",
        kubeconfig("users", **{"as": "system:admin"}),
        {"allow_impersonation": True},
        None,
    ),
    ("not-lists", {"clusters": "x", "users": None}, {}, None),
]


@pytest.mark.parametrize(
    ("data", "overrides", "rule"),
    [pytest.param(d, o, r, id=n) for n, d, o, r in KUBECONFIG_CASES],
)
def test_kubeconfig_at_server_level(data, overrides, rule):
    assert denied_rule(check_kubeconfig, server(**overrides), data) == rule


@pytest.mark.parametrize(
    ("data", "overrides", "rule"),
    [
        pytest.param(kubeconfig("users", exec=EXEC_SH), {}, None, id="exec-fine"),
        pytest.param(kubeconfig("users", tokenFile="/x"), {}, None, id="token-file-fine"),
        pytest.param(
            kubeconfig("clusters", **{"certificate-authority": "/x"}), {}, None, id="ca-file-fine"
        ),
        pytest.param(
            kubeconfig("clusters", server="http://169.254.169.254"), {}, None, id="metadata-fine"
        ),
        pytest.param(kubeconfig("users", **{"as": "x"}), {}, None, id="impersonation-fine"),
        pytest.param(
            kubeconfig("users", **{"auth-provider": {"name": "gcp"}}),
            {},
            None,
            id="auth-provider-fine",
        ),
        pytest.param(
            kubeconfig("users", exec=EXEC_SH),
            {"allowed_exec_plugins": frozenset({"kubelogin"})},
            "kubeconfig-exec",
            id="exec-tightened",
        ),
        pytest.param(
            kubeconfig("clusters", server="https://api.example.com"),
            {"denied_servers": ("203.0.113.0/24",)},
            "address",
            id="denied-tightened",
        ),
        pytest.param(
            kubeconfig("users", **{"as": "x"}),
            {"allow_impersonation": False},
            "impersonation",
            id="impersonation-tightened",
        ),
    ],
)
def test_kubeconfig_at_local_level(data, overrides, rule):
    assert denied_rule(check_kubeconfig, local(**overrides), data) == rule


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (kubeconfig("users", 1, tokenFile="/x"), "users[1].user.tokenFile"),
        (kubeconfig("users", exec=EXEC_SH), "users[0].user.exec.command"),
        (kubeconfig("clusters", 1, server="http://169.254.169.254"), "clusters[1].cluster.server"),
        (
            kubeconfig("clusters", **{"certificate-authority": "/x"}),
            "clusters[0].cluster.certificate-authority",
        ),
    ],
)
def test_kubeconfig_message_names_the_field_and_never_the_token(data, field):
    with pytest.raises(PolicyDeniedError) as info:
        check_kubeconfig(server(), data)
    assert info.value.message.startswith(field + ":")
    assert TOKEN not in info.value.message and TOKEN not in str(error_body(info.value))


# --- commands --------------------------------------------------------------------------

COMMAND_CASES = [
    # tool, command, expected rule at server level (None: allowed)
    ("kubectl", "get pods", None),
    ("kubectl", "-n kube-system get pods", None),
    ("kubectl", "--namespace=kube-system get pods -o wide", None),
    ("kubectl", "get pods -nkube-system", None),
    ("kubectl", "get pods -n=kube-system", None),
    ("kubectl", "get deploy web -o jsonpath='{.status.readyReplicas}'", None),
    ("kubectl", "get pods -ojsonpath={.items[*].spec.serviceAccountName}", None),
    ("kubectl", "get pods -o custom-columns=NAME:.metadata.name", None),
    ("kubectl", "get pods -l app=web --field-selector status.phase=Running", None),
    ("kubectl", "get pods -Aw", None),
    ("kubectl", "get --raw /api/v1/namespaces", None),
    ("kubectl", "--context other get pods", None),
    ("kubectl", "get pods --cluster other --user cert", None),
    ("kubectl", "--request-timeout 5s get pods", None),
    ("kubectl", "-v 6 get pods", None),
    ("kubectl", "apply -f -", None),
    ("kubectl", "apply --server-side -f -", None),
    ("kubectl", "apply -f https://api.example.com/manifest.yaml", None),
    ("kubectl", "create -f -", None),
    ("kubectl", "create deployment web --image=nginx --replicas 2", None),
    ("kubectl", "create deploy web --image=nginx", None),
    ("kubectl", "create secret generic s --from-literal=a=b", None),
    ("kubectl", "create --dry-run=client deployment web --image=nginx -o yaml", None),
    ("kubectl", "delete pod web --grace-period 0", None),
    ("kubectl", "logs web -f --tail 10", None),
    ("kubectl", "logs web -fp", None),
    ("kubectl", "logs web --tail=-1", None),
    ("kubectl", "exec web -- ls -la /", None),
    ("kubectl", "exec web -c app -- sh -c 'echo a | wc -c'", None),
    ("kubectl", "exec web -i=false -- ls", None),
    ("kubectl", "run tmp --image=busybox --restart=Never -- sleep 1", None),
    ("kubectl", "debug node/n1 --image=busybox", None),
    ("kubectl", "rollout status deploy/web -w", None),
    ("kubectl", "top pods -A", None),
    ("kubectl", "auth can-i create pods", None),
    ("kubectl", "config view", None),
    ("kubectl", "config view --minify", None),
    ("kubectl", "config get-contexts", None),
    ("kubectl", "config current-context", None),
    ("kubectl", "cluster-info dump", None),
    ("kubectl", "version --client -o json", None),
    ("kubectl", "help get", None),
    ("kubectl", "--help", None),
    ("kubectl", "get pods -- -s x", None),
    # target and identity flags, every spelling and place
    ("kubectl", "get pods --server=https://evil", "flag-target"),
    ("kubectl", "get pods --server https://evil", "flag-target"),
    ("kubectl", "get pods -s https://evil", "flag-target"),
    ("kubectl", "get pods -shttps://evil", "flag-target"),
    ("kubectl", "get pods -s=https://evil", "flag-target"),
    ("kubectl", "-s https://evil get pods", "flag-target"),
    ("kubectl", "get pods -server=https://evil", "flag-target"),
    ("kubectl", "get pods -As https://evil", "flag-target"),
    ("kubectl", "get pods --SERVER=https://evil", "flag-target"),
    ("kubectl", "get pods ---server=https://evil", "flag-target"),
    ("kubectl", "--kubeconfig=/etc/kubernetes/admin.conf get pods", "flag-target"),
    ("kubectl", "get pods --kubeconfig /root/.kube/config", "flag-target"),
    ("kubectl", "get pods --token=abc", "flag-target"),
    ("kubectl", "get pods --username admin --password pw", "flag-target"),
    ("kubectl", "get pods --client-certificate /etc/c --client-key /etc/k", "flag-target"),
    ("kubectl", "get pods --client_key=/etc/k", "flag-target"),
    ("kubectl", "get pods --certificate-authority=/etc/ca", "flag-target"),
    ("kubectl", "get pods --insecure-skip-tls-verify", "flag-target"),
    ("kubectl", "get pods --insecure_skip_tls_verify=true", "flag-target"),
    ("kubectl", "get pods --tls-server-name evil", "flag-target"),
    ("kubectl", "get pods --proxy-url http://169.254.169.254", "flag-target"),
    ("kubectl", "get pods --as=system:admin", "impersonation"),
    ("kubectl", "get pods --as-group system:masters", "impersonation"),
    ("kubectl", "get pods --as-uid 0", "impersonation"),
    ("kubectl", "get pods --as_group=system:masters", "impersonation"),
    ("kubectl", "get pods -n --server=https://evil", "flag-target"),
    # parse ambiguities
    ("kubectl", "get pods -n -v", "dash-name"),
    ("kubectl", "logs web --tail -1", "dash-name"),
    ("kubectl", "--address 0.0.0.0 proxy", "flag-unknown"),
    ("kubectl", "--address get proxy", "flag-unknown"),
    ("kubectl", "-A get pods", "flag-unknown"),
    ("kubectl", "config --flatten view view", "flag-unknown"),
    ("kubectl", "-hn proxy get pods", "flag-unknown"),
    ("kubectl", "-hn=x get pods", None),
    ("kubectl", "get pods -An kube-system", None),
    # commands
    ("kubectl", "proxy", "verb-denied"),
    ("kubectl", "proxy --port 8001", "verb-denied"),
    ("kubectl", "port-forward svc/web 8080:80", "verb-denied"),
    ("kubectl", "-n x port-forward pod/web 80", "verb-denied"),
    ("kubectl", "attach web -it", "interactive"),
    ("kubectl", "edit deploy web", "interactive"),
    ("kubectl", "apply edit-last-applied deploy/web", "interactive"),
    ("kubectl", "cp web:/etc/passwd /tmp/x", "verb-denied"),
    ("kubectl", "plugin list", "verb-denied"),
    ("kubectl", "krew install x", "verb-unknown"),
    ("kubectl", "foo", "verb-unknown"),
    ("kubectl", "ns kube-system", "verb-unknown"),
    ("kubectl", "create foo", "verb-unknown"),
    ("kubectl", "create secret foo x", "verb-unknown"),
    ("kubectl", "top foo", "verb-unknown"),
    ("kubectl", "-- proxy", "verb-unknown"),
    ("kubectl", "kuberc set --section defaults --command get", "verb-denied"),
    ("kubectl", "kustomize /etc", "file-path"),
    ("kubectl", "config view --raw", "raw-config"),
    ("kubectl", "config view --flatten", "raw-config"),
    ("kubectl", "config view --raw=true", "raw-config"),
    ("kubectl", "config set-credentials x --token=y", "flag-target"),
    ("kubectl", "config set-credentials x --exec-command=sh", "verb-denied"),
    ("kubectl", "config use-context other", "verb-denied"),
    ("kubectl", "config use other", "verb-denied"),
    ("kubectl", "exec -it web -- sh", "interactive"),
    ("kubectl", "exec -ti web -- sh", "interactive"),
    ("kubectl", "exec web -i -- sh", "interactive"),
    ("kubectl", "exec web --stdin --tty -- sh", "interactive"),
    ("kubectl", "exec web -qi -- sh", "interactive"),
    ("kubectl", "run x --image=busybox -it -- sh", "interactive"),
    ("kubectl", "debug web -it --image=busybox", "interactive"),
    ("kubectl", "delete pods --all -i", "interactive"),
    ("kubectl", "create --edit -f -", "interactive"),
    # files and URLs
    ("kubectl", "apply -f /etc/passwd", "file-path"),
    ("kubectl", "apply -f/etc/passwd", "file-path"),
    ("kubectl", "apply --filename=/etc/passwd", "file-path"),
    ("kubectl", "apply -f manifest.yaml", "file-path"),
    ("kubectl", "apply -Rf /etc", "file-path"),
    ("kubectl", "apply -k /etc", "file-path"),
    ("kubectl", "apply -k https://github.com/x/y", "file-path"),
    ("kubectl", "create secret generic s --from-file=/etc/shadow", "file-path"),
    ("kubectl", "create configmap c --from-env-file /proc/self/environ", "file-path"),
    ("kubectl", "create secret tls t --cert /etc/c --key /etc/k", "file-path"),
    ("kubectl", "get pods -o jsonpath-file=/etc/passwd", "file-path"),
    ("kubectl", "get pods -o go-template-file --template /etc/passwd", "file-path"),
    ("kubectl", "get pods --cache-dir /tmp/x", "file-path"),
    ("kubectl", "get pods --profile-output /etc/cron.d/x", "file-path"),
    ("kubectl", "--kuberc /etc/x get pods", "file-path"),
    ("kubectl", "cluster-info dump --output-directory /tmp/x", "file-path"),
    ("kubectl", "debug web --custom /etc/x", "file-path"),
    ("kubectl", "patch deploy web --patch-file /etc/x", "file-path"),
    ("kubectl", "exec web -f /etc/x -- ls", "file-path"),
    ("kubectl", "apply -f https://169.254.169.254/latest", "address"),
    ("kubectl", "apply -f http://metadata.google.internal/x", "address"),
    ("kubectl", "apply -f file:///etc/passwd", "url"),
    # shell
    ("kubectl", "get pods | grep web", "shell"),
    ("kubectl", "get pods || true", "shell"),
    ("kubectl", "get pods && rm -rf /", "shell"),
    ("kubectl", "get pods ; id", "shell"),
    ("kubectl", "get pods; id", "shell"),
    ("kubectl", "get pods > /tmp/x", "shell"),
    ("kubectl", "get pods 2>/dev/null", "shell"),
    ("kubectl", "get pods < /etc/passwd", "shell"),
    ("kubectl", "get pods `id`", "shell"),
    ("kubectl", "get pods $(id)", "shell"),
    ("kubectl", "get pods '|grep'", "shell"),
    ("kubectl", "exec web -- sh -c '$(id)'", "shell"),
    ("kubectl", "get pods &", "shell"),
    # helm
    ("helm", "list -A", None),
    ("helm", "ls -n apps", None),
    ("helm", "status web -n apps", None),
    ("helm", "install web mychart --repo https://charts.example.com --version 1.2.3 --wait", None),
    ("helm", "install web oci://charts.example.com/c/web --version 1.0.0", None),
    ("helm", "install web https://charts.example.com/web-1.0.0.tgz", None),
    ("helm", "install web bitnami/nginx", None),
    ("helm", "install --generate-name mychart --repo https://charts.example.com", None),
    (
        "helm",
        "upgrade --install web mychart --repo https://charts.example.com -f - --set a=b",
        None,
    ),
    (
        "helm",
        "template web mychart --repo https://charts.example.com -a v1 -s templates/x.yaml",
        None,
    ),
    ("helm", "show values mychart --repo https://charts.example.com", None),
    ("helm", "pull mychart --repo https://charts.example.com --untar", None),
    ("helm", "repo add x https://charts.example.com", None),
    ("helm", "repo list", None),
    ("helm", "search hub nginx", None),
    ("helm", "get values web -a", None),
    ("helm", "env", None),
    ("helm", "uninstall web", None),
    ("helm", "registry logout r.example.com", None),
    ("helm", "--kube-context other list", None),
    ("helm", "--kubeconfig /etc/k list", "flag-target"),
    ("helm", "list --kube-apiserver https://evil", "flag-target"),
    ("helm", "list --kube-token abc", "flag-target"),
    ("helm", "list --kube-ca-file /etc/ca", "flag-target"),
    ("helm", "list --kube-insecure-skip-tls-verify", "flag-target"),
    ("helm", "list --kube-tls-server-name evil", "flag-target"),
    ("helm", "list --kube-as-user admin", "impersonation"),
    ("helm", "list --kube-as-group system:masters", "impersonation"),
    (
        "helm",
        "install x c --repo https://charts.example.com --post-renderer /bin/sh",
        "flag-binary",
    ),
    ("helm", "install x c --repo https://charts.example.com --post-renderer=x", "flag-binary"),
    ("helm", "template x c --post-renderer-args -c", "flag-binary"),
    ("helm", "plugin install https://github.com/x/y", "verb-denied"),
    ("helm", "plugin ls", "verb-denied"),
    ("helm", "foo", "verb-unknown"),
    ("helm", "get foo web", "verb-unknown"),
    ("helm", "registry login r.example.com -u x -p y", "registry-login"),
    ("helm", "docs --dir /tmp", "verb-denied"),
    ("helm", "create /tmp/x", "file-path"),
    ("helm", "package /etc", "file-path"),
    ("helm", "lint ./chart", "file-path"),
    ("helm", "dependency build ./chart", "file-path"),
    ("helm", "push /tmp/x.tgz oci://charts.example.com", "file-path"),
    ("helm", "repo index /tmp", "file-path"),
    ("helm", "install web ./chart", "file-path"),
    ("helm", "install web /etc", "file-path"),
    ("helm", "install web ../../etc", "file-path"),
    ("helm", "install web ~/chart", "file-path"),
    ("helm", "install web a/b/c", "file-path"),
    ("helm", "install web --atomic ./chart", "file-path"),
    ("helm", "install web -- ./chart", "file-path"),
    ("helm", "install web c --repo https://charts.example.com -- /etc", "file-path"),
    ("istioctl", "analyze -- /etc/passwd", "file-path"),
    ("helm", "install web c --repo https://charts.example.com -f /etc/passwd", "file-path"),
    ("helm", "install web c --repo https://charts.example.com --values=/etc/x", "file-path"),
    (
        "helm",
        "install web c --repo https://charts.example.com --set-file a=/etc/passwd",
        "file-path",
    ),
    ("helm", "install web c --repo https://charts.example.com --ca-file /etc/ca", "file-path"),
    ("helm", "install web c --repo https://charts.example.com --cert-file /etc/c", "file-path"),
    ("helm", "install web c --repo https://charts.example.com --keyring /etc/k", "file-path"),
    ("helm", "template web c --repo https://charts.example.com --output-dir /etc", "file-path"),
    ("helm", "pull c --repo https://charts.example.com -d /tmp", "file-path"),
    ("helm", "pull c --repo https://charts.example.com --untardir /tmp", "file-path"),
    ("helm", "list --repository-config /etc/x", "file-path"),
    ("helm", "list --registry-config /root/.docker/config.json", "file-path"),
    ("helm", "list --repository-cache /tmp", "file-path"),
    ("helm", "list --log-file /etc/x", "file-path"),
    ("helm", "install web c --repo http://169.254.169.254", "address"),
    ("helm", "install web oci://169.254.169.254/x", "address"),
    ("helm", "install web https://metadata.google.internal/x.tgz", "address"),
    (
        "helm",
        "install web c --repo https://charts.example.com -f http://169.254.169.254/x",
        "address",
    ),
    ("helm", "repo add x http://169.254.169.254", "address"),
    ("helm", "search hub x --endpoint http://169.254.169.254", "address"),
    ("helm", "install web file:///etc/x", "url"),
    ("helm", "install web mychart --repo https://charts.example.com --dependency-update", "url"),
    ("helm", "list | sh", "shell"),
    # istioctl
    ("istioctl", "analyze -n default", None),
    ("istioctl", "analyze -A", None),
    ("istioctl", "proxy-status", None),
    ("istioctl", "ps", None),
    ("istioctl", "pc clusters web-1.apps -o json", None),
    ("istioctl", "proxy-config routes deploy/web", None),
    ("istioctl", "version --remote=false", None),
    ("istioctl", "x precheck", None),
    ("istioctl", "-i istio-system analyze", None),
    ("istioctl", "--context other ps", None),
    ("istioctl", "kube-inject -f -", None),
    ("istioctl", "validate -f -", None),
    ("istioctl", "install --set profile=demo -y", None),
    ("istioctl", "-c /etc/kubernetes/admin.conf version", "flag-target"),
    ("istioctl", "version -c /etc/k", "flag-target"),
    ("istioctl", "version --kubeconfig=/etc/k", "flag-target"),
    ("istioctl", "analyze --as admin", "impersonation"),
    ("istioctl", "analyze /etc/passwd", "file-path"),
    ("istioctl", "analyze a.yaml", "file-path"),
    ("istioctl", "kube-inject -f /etc/x", "file-path"),
    ("istioctl", "kube-inject -f - --meshConfigFile /etc/x", "file-path"),
    ("istioctl", "kube-inject -f - -o /etc/cron.d/x", "file-path"),
    ("istioctl", "install -d /tmp/manifests", "file-path"),
    ("istioctl", "install --set installPackagePath=/etc -y", "file-path"),
    ("istioctl", "manifest generate --set spec.installPackagePath=/etc", "file-path"),
    ("istioctl", "manifest generate --set values.global.hub=docker.io/istio", None),
    ("istioctl", "install --manifests=/tmp/m", "file-path"),
    ("istioctl", "analyze --log_target=/etc/x", "file-path"),
    ("istioctl", "dashboard kiali", "verb-denied"),
    ("istioctl", "dash kiali", "verb-denied"),
    ("istioctl", "bug-report", "verb-denied"),
    ("istioctl", "x workload entry configure -f x", "verb-denied"),
    ("istioctl", "foo", "verb-unknown"),
    # argocd
    ("argocd", "app list --core", None),
    ("argocd", "--core app get web", None),
    ("argocd", "app diff web --core", None),
    ("argocd", "app sync web --core --prune", None),
    ("argocd", "app logs web --core -f", None),
    (
        "argocd",
        "app create web --repo https://github.com/x/y --path guestbook "
        "--dest-server https://kubernetes.default.svc --dest-namespace default --core",
        None,
    ),
    ("argocd", "version --client", None),
    ("argocd", "proj list --core --kube-context other", None),
    ("argocd", "app list", "argocd-core"),
    ("argocd", "app list --core=false", "argocd-core"),
    ("argocd", "app list --server argocd.example.com", "flag-target"),
    ("argocd", "app list --core --auth-token abc", "flag-target"),
    ("argocd", "app list --core --config /etc/x", "flag-target"),
    ("argocd", "app list --core --client-crt /etc/c", "flag-target"),
    ("argocd", "app list --port-forward", "flag-target"),
    ("argocd", "login argocd.example.com", "verb-denied"),
    ("argocd", "relogin", "verb-denied"),
    ("argocd", "logout x", "verb-denied"),
    ("argocd", "context x", "verb-denied"),
    ("argocd", "ctx", "verb-denied"),
    ("argocd", "admin export", "verb-denied"),
    ("argocd", "configure", "verb-denied"),
    ("argocd", "app edit web --core", "interactive"),
    ("argocd", "foo", "verb-unknown"),
    ("argocd", "app foo --core", "verb-unknown"),
    ("argocd", "app create web -f /etc/x --core", "file-path"),
    ("argocd", "app create web --file=/etc/x --core", "file-path"),
    ("argocd", "app create web -f http://169.254.169.254/x --core", "address"),
    ("argocd", "app diff web --local /etc --core", "file-path"),
    ("argocd", "cert add-tls x --from /etc/x --core", "file-path"),
    ("argocd", "repo add git@x:y --ssh-private-key-path /root/.ssh/id_rsa --core", "file-path"),
    ("argocd", "cluster add ctx --kubeconfig /etc/k --core", "file-path"),
    ("argocd", "appset create /etc/x.yaml --core", "file-path"),
    ("argocd", "appset create http://169.254.169.254/x --core", "address"),
]


@pytest.mark.parametrize(
    ("tool", "command", "rule"),
    [pytest.param(t, c, r, id=f"{t} {c}") for t, c, r in COMMAND_CASES],
)
def test_command_at_server_level(tool, command, rule):
    assert denied_rule(check_command, server(), tool, shlex.split(command)) == rule


LOCAL_CASES = [
    ("kubectl", "get pods --server=https://evil", {}, None),
    ("kubectl", "proxy", {}, None),
    ("kubectl", "foo", {}, None),
    ("kubectl", "apply -f /etc/passwd", {}, None),
    ("kubectl", "exec -it web -- sh", {}, None),
    ("kubectl", "config view --raw", {}, None),
    ("kubectl", "get pods --as=admin", {}, None),
    ("kubectl", "apply -f https://169.254.169.254/x", {}, None),
    ("helm", "install web ./chart --post-renderer x", {}, None),
    ("helm", "registry login r -u x -p y", {}, None),
    ("argocd", "app list", {}, None),
    ("kubectl", "get pods | grep x", {}, "shell"),
    ("kubectl", "get pods --as=admin", {"allow_impersonation": False}, "impersonation"),
    ("kubectl", "apply -f /etc/passwd", {"allow_local_files": False}, "file-path"),
    ("kubectl", "apply -f https://api.example.com/x", {"allow_urls": False}, "url"),
    (
        "kubectl",
        "apply -f https://api.example.com/x",
        {"denied_servers": ("api.example.com",)},
        "address",
    ),
    ("kubectl", "delete pod web", {"read_only": True}, "read-only"),
    ("kubectl", "get pods", {"read_only": True}, None),
    ("kubectl", "foo", {"read_only": True}, "verb-unknown"),
    ("helm", "registry login r -u x -p y", {"allow_registry_login": False}, None),
]


@pytest.mark.parametrize(
    ("tool", "command", "overrides", "rule"),
    [pytest.param(t, c, o, r, id=f"{t} {c} {sorted(o)}") for t, c, o, r in LOCAL_CASES],
)
def test_command_at_local_level(tool, command, overrides, rule):
    assert denied_rule(check_command, local(**overrides), tool, shlex.split(command)) == rule


@pytest.mark.parametrize(
    ("tool", "command", "overrides", "rule"),
    [
        ("kubectl", "get pods --as=admin", {"allow_impersonation": True}, None),
        ("helm", "list --kube-as-user x", {"allow_impersonation": True}, None),
        ("kubectl", "apply -f /etc/x", {"allow_local_files": True}, None),
        ("helm", "install web ./chart", {"allow_local_files": True}, None),
        ("helm", "registry login r -u x -p y", {"allow_registry_login": True}, None),
        ("kubectl", "apply -f https://api.example.com/x", {"allow_urls": False}, "url"),
        ("helm", "install x c --repo https://charts.example.com", {"allow_urls": False}, "url"),
        ("helm", "install x oci://charts.example.com/x", {"allow_urls": False}, "url"),
        (
            "helm",
            "install x c --repo https://charts.example.com",
            {"allowed_servers": ("api.example.com",)},
            "address",
        ),
    ],
)
def test_command_operator_options_at_server_level(tool, command, overrides, rule):
    assert denied_rule(check_command, server(**overrides), tool, shlex.split(command)) == rule


READ_ONLY_CASES = [
    ("kubectl", "get pods", True),
    ("kubectl", "-n x get pods -o yaml", True),
    ("kubectl", "describe pod web", True),
    ("kubectl", "logs web -f", True),
    ("kubectl", "top pod", True),
    ("kubectl", "explain pods", True),
    ("kubectl", "events", True),
    ("kubectl", "api-resources", True),
    ("kubectl", "api-versions", True),
    ("kubectl", "version", True),
    ("kubectl", "cluster-info", True),
    ("kubectl", "auth can-i get pods", True),
    ("kubectl", "auth whoami", True),
    ("kubectl", "diff -f -", True),
    ("kubectl", "config view", True),
    ("kubectl", "config get-contexts", True),
    ("kubectl", "config current-context", True),
    ("kubectl", "--help", True),
    ("kubectl", "apply -f -", False),
    ("kubectl", "delete pod web", False),
    ("kubectl", "exec web -- ls", False),
    ("kubectl", "auth reconcile -f -", False),
    ("kubectl", "rollout restart deploy/web", False),
    ("kubectl", "config use-context x", False),
    ("kubectl", "foo", False),
    ("kubectl", "--address x get pods", False),
    ("helm", "list", True),
    ("helm", "status web", True),
    ("helm", "get values web", True),
    ("helm", "history web", True),
    ("helm", "show chart c --repo https://x", True),
    ("helm", "template x c", True),
    ("helm", "lint", True),
    ("helm", "version", True),
    ("helm", "install x c", False),
    ("helm", "upgrade x c", False),
    ("helm", "uninstall x", False),
    ("helm", "rollback x 1", False),
    ("istioctl", "analyze", True),
    ("istioctl", "version", True),
    ("istioctl", "proxy-status", True),
    ("istioctl", "pc routes x", True),
    ("istioctl", "pc log x --level debug", False),
    ("istioctl", "install -y", False),
    ("istioctl", "waypoint apply", False),
    ("argocd", "app list --core", True),
    ("argocd", "app get web --core", True),
    ("argocd", "app diff web --core", True),
    ("argocd", "app history web --core", True),
    ("argocd", "app manifests web --core", True),
    ("argocd", "version", True),
    ("argocd", "app sync web --core", False),
    ("argocd", "app delete web --core", False),
    ("nosuchtool", "get", False),
]


@pytest.mark.parametrize(
    ("tool", "command", "expected"),
    [pytest.param(t, c, e, id=f"{t} {c}") for t, c, e in READ_ONLY_CASES],
)
def test_is_read_only(tool, command, expected):
    assert is_read_only(tool, shlex.split(command)) is expected


@pytest.mark.parametrize(
    ("tool", "command"),
    [
        (t, c)
        for t, c, e in READ_ONLY_CASES
        if not e and t != "nosuchtool" and "--address" not in c and c != "foo"
    ],
)
def test_read_only_mode_refuses_writes(tool, command):
    assert denied_rule(
        check_command, server(read_only=True, allow_local_files=True), tool, shlex.split(command)
    ) in (
        "read-only",
        "argocd-core",
        "verb-denied",
    )


def test_unknown_tool_is_refused():
    assert denied_rule(check_command, server(), "kubectl-evil", ["get"]) == "verb-unknown"


@pytest.mark.parametrize(
    "command",
    [
        f"get pods --token={TOKEN}",
        f"get pods --token {TOKEN}",
        f"get pods --password={TOKEN}",
        f"get pods -s https://x --token {TOKEN}",
        f"proxy --token={TOKEN}",
        f"get pods | grep {TOKEN}",
        f"get pods $({TOKEN})",
        f"create secret generic s --from-file={TOKEN}",
        f"apply -f https://user:{TOKEN}@169.254.169.254/x",
        f"{TOKEN}",
    ],
)
def test_command_messages_never_echo_values(command):
    with pytest.raises(PolicyDeniedError) as info:
        check_command(server(), "kubectl", shlex.split(command))
    assert TOKEN not in str(error_body(info.value)) or command == TOKEN


def test_unknown_verb_message_shortens_what_it_echoes():
    with pytest.raises(PolicyDeniedError) as info:
        check_command(server(), "kubectl", ["x" * 500])
    assert len(info.value.message) < 400


# --- the tables match the real CLI -----------------------------------------------------


def _kubectl() -> str | None:
    return shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


@pytest.mark.skipif(_kubectl() is None, reason="kubectl is not installed")
def test_kubectl_command_table_matches_kubectl_help():
    out = subprocess.run([_kubectl(), "--help"], capture_output=True, text=True, check=True).stdout
    verbs = {
        line.split()[0]
        for line in out.splitlines()
        if line.startswith("  ")
        and not line.startswith("   ")
        and len(line.split()) > 1
        and not line.split()[0].startswith("kubectl")
    }
    assert verbs == set(KUBECTL.commands) - {"help"}


@pytest.mark.skipif(_kubectl() is None, reason="kubectl is not installed")
def test_kubectl_global_flag_table_matches_kubectl_options():
    out = subprocess.run([_kubectl(), "options"], capture_output=True, text=True, check=True).stdout
    names: set[str] = set()
    for line in out.splitlines():
        for word in line.split():
            if word.startswith("--") and "=" in word:
                names.add(word[2:].split("=", 1)[0])
    assert names == (KUBECTL.global_value | KUBECTL.global_bool) - {"help"}


def test_every_grammar_resolves_its_aliases_to_real_commands():
    for grammar in (spec.grammar for spec in TOOLS.values()):
        for parent, aliases in grammar.aliases.items():
            node: Any = grammar.commands
            for part in parent:
                node = node[part]
            for alias, target in aliases.items():
                assert target in node, (grammar.tool, parent, alias)
