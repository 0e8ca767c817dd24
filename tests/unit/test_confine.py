"""Confinement's pieces: the kernel check, the rules a child gets, the kubeconfig it reads.

Landlock is real here (CI's kernel has ABI 7): a confined /bin/sh writes inside its
directory and nowhere else, and cannot connect to a port it was not given.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from k8smcp import confine, landlock
from k8smcp.cli import app
from k8smcp.errors import KubeconfigError, UsageError
from k8smcp.policy import Policy


def _sh(confinement: confine.Confinement, script: str, cwd: Path) -> int:
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        child = confine.spawn(
            confinement,
            ["/bin/sh", "-c", script],
            cwd=str(cwd),
            env={"PATH": "/usr/bin:/bin"},
            stdin=devnull,
            stdout=devnull,
            stderr=devnull,
        )
    finally:
        os.close(devnull)
    return child.wait(timeout=10)


def test_a_confined_child_writes_only_its_directory(tmp_path: Path) -> None:
    inside = tmp_path / "call"
    inside.mkdir()
    outside = tmp_path / "outside"
    code = _sh(
        confine.Confinement(writable=(str(inside),)),
        f"echo x > {inside}/ok; echo x > {outside}; mkdir {tmp_path}/dir",
        inside,
    )
    assert code != 0
    assert (inside / "ok").read_text() == "x\n"
    assert not outside.exists() and not (tmp_path / "dir").exists()


def test_a_confined_child_reads_only_what_the_clis_need(tmp_path: Path) -> None:
    inside = tmp_path / "call"
    inside.mkdir()
    neighbour = tmp_path / "other-call"
    neighbour.mkdir()
    (neighbour / "kubeconfig").write_text("another caller's credentials")
    rules = confine.Confinement(writable=(str(inside),))
    assert _sh(rules, "cat /etc/ssl/certs/*.pem /etc/hosts > /dev/null", inside) == 0
    assert _sh(rules, f"cat {neighbour}/kubeconfig", inside) != 0
    assert _sh(rules, f"cat /proc/{os.getpid()}/environ", inside) != 0
    assert _sh(rules, f"ls {tmp_path}", inside) != 0


def test_the_files_the_operator_passes_by_name_are_readable(tmp_path: Path) -> None:
    token = tmp_path / "identity" / "token"
    token.parent.mkdir()
    token.write_text("the server's identity")
    other = tmp_path / "not-passed"
    other.write_text("nobody named it")
    env = {
        "TOKEN_FILE": str(token),
        "NOT_PASSED": str(other),
        "AWS_REGION": "eu-west-1",  # not a path
        "RELATIVE": "token",
        "SSL_CERT_DIR": f"/etc/ssl/certs{os.pathsep}{tmp_path}/ca",
    }
    readable = confine.passed_paths(env, ("TOKEN_FILE", "AWS_REGION", "RELATIVE"))
    assert readable == ("/etc/ssl/certs", f"{tmp_path}/ca", str(token))
    inside = tmp_path / "call"
    inside.mkdir()
    rules = confine.Confinement(writable=(str(inside),), readable=readable)
    assert _sh(rules, f"cat {token}", inside) == 0
    assert _sh(rules, f"cat {other}", inside) != 0


def test_a_confined_child_connects_only_to_its_ports(tmp_path: Path) -> None:
    allowed = socket.create_server(("127.0.0.1", 0))
    refused = socket.create_server(("127.0.0.1", 0))
    for sock in (allowed, refused):
        sock.settimeout(2)
    script = "exec 3<>/dev/tcp/127.0.0.1/{}"
    rules = confine.Confinement(
        writable=(str(tmp_path),), connect_ports=(allowed.getsockname()[1],)
    )
    bash = Path("/bin/bash")
    assert bash.exists()
    with allowed, refused:
        ok = _sh(rules, f"bash -c '{script.format(allowed.getsockname()[1])}'", tmp_path)
        no = _sh(rules, f"bash -c '{script.format(refused.getsockname()[1])}'", tmp_path)
        allowed.accept()[0].close()
        refused.settimeout(0.5)
        with pytest.raises(TimeoutError):
            refused.accept()
    assert ok == 0 and no != 0


def test_the_rest_of_the_process_stays_unconfined(tmp_path: Path) -> None:
    _sh(confine.Confinement(writable=(str(tmp_path),)), "true", tmp_path)
    (tmp_path.parent / f"{tmp_path.name}-after").write_text("still free")


@pytest.mark.parametrize(
    "abi, expected",
    [(0, "offers no Landlock"), (3, "ABI 3; TCP rules need ABI 4"), (7, None)],
)
def test_the_kernel_check_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, abi: int, expected: str | None
) -> None:
    monkeypatch.setattr(landlock, "abi_version", lambda: abi)
    reason = confine.unavailable_reason()
    assert reason == expected if expected is None else expected in (reason or "")
    if expected is not None:
        with pytest.raises(UsageError, match="--no-confine"):
            confine.require()


def test_serve_refuses_without_the_mechanism_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "cannot confine" in result.output and "--no-confine" in result.output


def test_run_is_unaffected_without_the_mechanism(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    result = CliRunner().invoke(app, ["run", "kubectl", "version", "--client"])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(app, ["run", "--confine", "kubectl", "version", "--client"])
    assert refused.exit_code == 2 and "cannot confine" in refused.output


@pytest.mark.parametrize(
    "args, ports",
    [
        (["demo", "--repo", "http://127.0.0.1:8879"], (8879,)),
        (["--repo=https://localhost/charts"], (443,)),
        (["-f", "http://[::1]:81/x.yaml", "http://127.0.0.9"], (80, 81)),
        (["--repo", "https://charts.example.com:8879"], ()),
        (["http://127.0.0.1.example.com:99/"], ()),
        (["--set", "url=http://127.0.0.1:5000/"], (5000,)),
    ],
)
def test_loopback_urls_open_their_port(args: list[str], ports: tuple[int, ...]) -> None:
    assert confine.loopback_ports(args, Policy.server()) == ports


def test_loopback_urls_the_policy_refuses_open_nothing() -> None:
    policy = Policy.server(denied_servers=("127.0.0.0/8", "::1", "localhost"))
    assert confine.loopback_ports(["http://127.0.0.1:80", "http://localhost:81"], policy) == ()


@pytest.mark.parametrize(
    "server, named",
    [
        # Go never takes these to the proxy the environment names: proxy-url does
        ("https://127.0.0.1:6443", True),
        ("https://127.9.9.9", True),
        ("https://[::1]:6443", True),
        ("https://[::ffff:127.0.0.1]:6443", True),
        ("https://localhost:6443", True),
        ("https://LOCALHOST:6443", True),  # Go would proxy it from the environment: both do
        (None, True),
        ("", True),
        ("https://[not-an-address", True),
        # every other server reaches the proxy through HTTPS_PROXY/HTTP_PROXY
        ("https://api.example.com", False),
        ("https://10.0.0.1:6443", False),
        ("https://[2001:db8::1]", False),
        ("https://127.1", False),  # not an address to Go: a name, resolved by the proxy
        ("http://api.example.com/prefix", False),
    ],
)
def test_proxy_url_is_set_where_the_proxy_variables_do_not_reach(
    server: str | None, named: bool
) -> None:
    cluster = {} if server is None else {"server": server}
    data = {"clusters": [{"name": "a", "cluster": cluster}]}
    out = json.loads(confine.through_proxy(json.dumps(data).encode(), "http://p"))
    assert ("proxy-url" in out["clusters"][0]["cluster"]) is named
    # a tool whose TCP is not confined (argocd) gets it on every cluster
    out = json.loads(
        confine.through_proxy(json.dumps(data).encode(), "http://p", every_cluster=True)
    )
    assert out["clusters"][0]["cluster"]["proxy-url"] == "http://p"
    env = confine.proxy_env("http://p")
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://p" and env["NO_PROXY"] == ""


def test_a_kubeconfig_naming_its_own_proxy_is_refused() -> None:
    data = {"clusters": [{"name": "a", "cluster": {"server": "https://a", "proxy-url": "x"}}]}
    with pytest.raises(KubeconfigError, match=r"clusters\[0\]\.cluster\.proxy-url"):
        confine.through_proxy(json.dumps(data).encode(), "http://p")


def test_a_script_can_read_its_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\n")
    dirs = confine.binary_dirs(str(script))
    assert str(tmp_path) in dirs
    assert any(Path(d, "bin").is_dir() for d in dirs if d != str(tmp_path))
