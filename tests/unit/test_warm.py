"""The warm hand-over's own pieces: where its socket goes, and what a request carries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8smcp.cli import warm


def test_the_pid_file_is_in_a_private_directory_and_the_socket_is_abstract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    found = warm.place()
    assert found is not None
    address, pid_file = found
    assert address.startswith(f"\0k8smcp-warm-{os.geteuid()}-")  # no file: Landlock scopes it
    assert Path(pid_file).parent == tmp_path / "k8smcp"
    assert (tmp_path / "k8smcp").stat().st_mode & 0o777 == 0o700
    assert warm.place() == found  # the same code: the same name
    monkeypatch.setenv("K8SMCP_NO_SPEEDUPS", "1")  # read at import: another warm process
    assert warm.place() != found
    monkeypatch.delenv("K8SMCP_NO_SPEEDUPS")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(other))  # another runtime directory: another
    elsewhere = warm.place()
    assert elsewhere is not None and elsewhere[0] != address


def test_a_runtime_directory_not_ours_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """root with a user's XDG_RUNTIME_DIR (`su` without `-`) keeps out of it."""
    tmp_path.chmod(0o755)  # not private: as good as another user's
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    found = warm.place()
    assert not (tmp_path / "k8smcp").exists()
    assert found is None or Path(found[1]).parent == Path(f"/tmp/k8smcp-warm-{os.geteuid()}")


def test_a_directory_others_may_enter_gets_no_warm_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "k8smcp").mkdir()
    (tmp_path / "k8smcp").chmod(0o750)
    assert warm.place() is None
    (tmp_path / "k8smcp").rmdir()
    (tmp_path / "k8smcp").symlink_to(tmp_path)  # a link, even to a private place
    assert warm.place() is None


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
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("off", False)],
)
def test_k8smcp_warm_values(value: str, on: bool) -> None:
    for terminal in (True, False):  # what K8SMCP_WARM says holds anywhere
        assert warm.wanted({"K8SMCP_WARM": value}, terminal=terminal) is on


@pytest.mark.parametrize("value", [None, "", " ", "maybe"])
def test_without_a_word_from_k8smcp_warm_only_a_terminal_gets_it(value: str | None) -> None:
    env = {} if value is None else {"K8SMCP_WARM": value}
    assert warm.wanted(env, terminal=True) is True
    assert warm.wanted(env, terminal=False) is False


def test_a_caller_whose_start_up_state_differs_gets_a_warm_process_of_its_own(
    tmp_path: Path,
) -> None:
    """What a worker would take from the warm process instead of its caller is in the name:
    the interpreter's variables, the resource limits, the installed packages."""
    import resource
    import subprocess
    import sys

    def name(env: dict[str, str], nofile: int | None = None) -> str:
        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        program = "from k8smcp.cli import warm; print(warm.place()[0][1:])"
        done = subprocess.run(
            [sys.executable, "-c", program],
            env={"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(tmp_path), **env},
            preexec_fn=limit,  # a limit for the child alone
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    plain = name({})
    assert name({}) == plain
    assert name({"PYTHONIOENCODING": "ascii"}) != plain
    assert name({"TYPER_USE_RICH": "0"}) != plain
    assert name({}, nofile=256) != plain
    # a package installed or upgraded: its site-packages directory changed
    packages = tmp_path / "lib" / "site-packages"
    packages.mkdir(parents=True)
    before = name({"PYTHONPATH": str(packages)})
    assert name({"PYTHONPATH": str(packages)}) == before
    (packages / "newer-1.0.dist-info").mkdir()
    assert name({"PYTHONPATH": str(packages)}) != before
