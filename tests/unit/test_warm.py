"""The warm hand-over's own pieces: where its socket goes, and what a request carries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8smcp.cli import warm


def test_the_socket_is_in_a_private_directory_of_the_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = warm.socket_path()
    assert path is not None and Path(path).parent == tmp_path / "k8smcp"
    assert (tmp_path / "k8smcp").stat().st_mode & 0o777 == 0o700
    assert warm.socket_path() == path  # the same code: the same socket


def test_a_runtime_dir_too_deep_for_a_socket_falls_back_to_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    path = warm.socket_path()
    assert path is not None
    assert Path(path).parent == Path(f"/tmp/k8smcp-warm-{os.geteuid()}")
    assert len(os.fsencode(path + ".pid")) <= 107


def test_a_directory_others_may_enter_gets_no_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "k8smcp").mkdir()
    (tmp_path / "k8smcp").chmod(0o750)
    assert warm.socket_path() is None
    (tmp_path / "k8smcp").rmdir()
    (tmp_path / "k8smcp").symlink_to(tmp_path)  # a link, even to a private place
    assert warm.socket_path() is None


def test_a_request_carries_argv_cwd_umask_and_the_environment_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = os.fsdecode(b"caf\xc3\xa9 \xff=x")  # not UTF-8: carried byte for byte
    monkeypatch.setenv("K8SMCP_TEST_ODD", odd)
    monkeypatch.setenv("K8SMCP_TEST_EQUALS", "a=b=c")
    monkeypatch.chdir(tmp_path)
    argv = ["k8smcp", "run", "kubectl", "get", "pods", "-l", "a=b", "", odd]
    got_argv, cwd, umask, env = warm._decode(warm._encode(argv))
    assert got_argv == argv and cwd == str(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert umask == mask
    assert env == dict(os.environ)


@pytest.mark.parametrize(
    "value, on",
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("", False)],
)
def test_k8smcp_warm_values(value: str, on: bool) -> None:
    assert warm.wanted({"K8SMCP_WARM": value}) is on
