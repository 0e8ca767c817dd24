"""config.build_settings: typed options in, Settings out, with the rules that live there."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
import yaml

from k8smcp.config import Options, Settings, build_settings, csv, discovery_cache_root
from k8smcp.errors import KubeconfigError, UsageError
from tests.conftest import make_kubeconfig


def b64(data: object) -> str:
    return base64.b64encode(yaml.safe_dump(data).encode()).decode()


def test_lists_are_split_and_stripped() -> None:
    assert csv(" a, b,,c ,") == ("a", "b", "c")
    assert csv(None) == ()
    settings = build_settings(
        "server",
        Options(
            allowed_servers="10.0.0.0/8, *.example.com",
            denied_servers="1.2.3.4",
            allowed_exec_plugins="kubelogin, aws",
            allowed_hosts="a:*, b",
            pass_env="AWS_PROFILE, GOGC",
            discovery_cache=False,
        ),
    )
    assert settings.policy.allowed_servers == ("10.0.0.0/8", "*.example.com")
    assert settings.policy.denied_servers == ("1.2.3.4",)
    assert settings.policy.allowed_exec_plugins == frozenset({"kubelogin", "aws"})
    assert settings.allowed_hosts == ("a:*", "b")


def test_the_level_comes_from_the_mode_and_options_override_its_defaults() -> None:
    server = build_settings("server", Options(discovery_cache=False))
    assert server.mode == "server" and server.policy.is_server
    assert server.policy.redact_secrets and not server.policy.allow_local_files
    local = build_settings("local", Options(discovery_cache=False))
    assert local.mode == "local" and not local.policy.redact_secrets
    assert local.policy.allow_local_files
    loosened = build_settings(
        "server",
        Options(allow_local_files=True, redact_secrets=False, read_only=True, allow_urls=False),
    )
    assert loosened.policy.allow_local_files and not loosened.policy.redact_secrets
    assert loosened.policy.read_only and not loosened.policy.allow_urls


def test_a_server_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(UsageError, match="without authentication"):
        build_settings("server", Options(host="0.0.0.0", discovery_cache=False))  # noqa: S104
    assert build_settings("server", Options(host="::1", discovery_cache=False)).auth_tokens == ()
    insecure = Options(host="0.0.0.0", insecure_no_auth=True, discovery_cache=False)  # noqa: S104
    assert build_settings("server", insecure).auth_tokens == ()


def test_tokens_come_inline_and_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text("two\n\n  three  \n")
    settings = build_settings(
        "server",
        Options(host="0.0.0.0", auth_token="one", auth_token_file=file, discovery_cache=False),  # noqa: S104
    )
    assert settings.auth_tokens == ("one", "two", "three")
    with pytest.raises(UsageError, match="cannot read the auth token file"):
        build_settings("server", Options(auth_token_file=tmp_path / "nope"))


def test_the_local_kubeconfig_is_found_once_in_the_order_kubectl_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(yaml.safe_dump(make_kubeconfig("https://home:1")))
    monkeypatch.setenv("HOME", str(home))
    env_file = tmp_path / "env-config"
    env_file.write_text(yaml.safe_dump(make_kubeconfig("https://env:1")))

    def server(**given: object) -> str | None:
        found = build_settings("local", Options(discovery_cache=False, **given))  # type: ignore[arg-type]
        return found.default_kubeconfig.server if found.default_kubeconfig else None

    assert server() == "https://home:1"
    monkeypatch.setenv("KUBECONFIG", str(env_file))
    assert server() == "https://env:1"
    flag = tmp_path / "flag-config"
    flag.write_text(yaml.safe_dump(make_kubeconfig("https://flag:1")))
    assert server(kubeconfig=flag) == "https://flag:1"
    assert server(kubeconfig=flag, kubeconfig_b64=b64(make_kubeconfig("https://b64:1"))) == (
        "https://b64:1"
    )
    with pytest.raises(KubeconfigError, match="does not exist"):
        server(kubeconfig=tmp_path / "missing")


def test_a_server_reads_its_own_kubeconfig_only_when_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(yaml.safe_dump(make_kubeconfig()))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert build_settings("server", Options(discovery_cache=False)).default_kubeconfig is None
    allowed = build_settings(
        "server", Options(allow_default_kubeconfig=True, discovery_cache=False)
    )
    assert allowed.default_kubeconfig is not None


def test_children_start_from_the_allowlist_and_pass_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.delenv("GOGC", raising=False)
    env = build_settings("local", Options(pass_env="AWS_PROFILE", discovery_cache=False)).child_env
    assert env["AWS_PROFILE"] == "dev" and env["GOGC"] == "200"
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "AWS_PROFILE" not in Settings().child_env


def test_the_discovery_cache_root_is_private_or_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = discovery_cache_root()
    assert root == tmp_path / "xdg" / "k8smcp" / "discovery"
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert build_settings("local", Options()).cache_root == root
    assert build_settings("local", Options(discovery_cache=False)).cache_root is None
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert discovery_cache_root(shared) is None  # others could plant a cache there


def test_what_settings_copies_from_options_is_declared_alike_in_both() -> None:
    import dataclasses

    from k8smcp import config

    options = {f.name: f.type for f in dataclasses.fields(Options)}
    settings = {f.name: f.type for f in dataclasses.fields(Settings)}
    for name in config._SAME_IN_BOTH:
        assert options[name] == settings[name], name  # the annotations, as written
    built = build_settings("local", Options(max_timeout=7, queue_timeout=3, discovery_cache=False))
    assert (built.max_timeout, built.queue_timeout) == (7, 3)
