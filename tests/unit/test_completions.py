"""The committed completion scripts (completions/) are exactly what scripts/gen-completions
makes from the Typer app today, and each works in its real shell: bash and fish complete
k8smcp's commands and options, zsh registers the completion function (a shell that is not
installed skips its test; in CI, where scripts/test installs zsh and fish, it fails)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "completions"
FILES = ("k8smcp.bash", "_k8smcp", "k8smcp.fish")
K8SMCP = Path(sys.executable).parent / "k8smcp"
SHELL_ENV = {"PATH": f"{K8SMCP.parent}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8"}
CASES = [
    (["k8smcp", "se"], {"serve"}),
    (["k8smcp", "serve", "--max-c"], {"--max-concurrency"}),
    (["k8smcp", "t"], {"tools"}),
]


def shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"no {name} here (scripts/test installs zsh and fish as root)")
    return path


def run_shell(argv: list[str]) -> str:
    done = subprocess.run(
        argv, env=SHELL_ENV, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("completions")
    subprocess.run(
        [str(ROOT / "scripts" / "gen-completions"), str(out)],
        env={"PATH": os.environ["PATH"], "K8SMCP": str(K8SMCP)},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


@pytest.mark.parametrize("name", FILES)
def test_committed_script_is_current(generated: Path, name: str) -> None:
    fresh = (generated / name).read_text()
    assert "k8smcp" in fresh
    assert (COMMITTED / name).read_text() == fresh, (
        f"completions/{name} is stale: run scripts/gen-completions and commit the result"
    )


def test_zsh_script_starts_with_compdef() -> None:
    assert (COMMITTED / "_k8smcp").read_text().startswith("#compdef k8smcp\n")


@pytest.mark.parametrize(("words", "expected"), CASES)
def test_bash_completes_commands_and_options(words: list[str], expected: set[str]) -> None:
    script = (
        f"source {COMMITTED / 'k8smcp.bash'}\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}\n"
        "_k8smcp_completion k8smcp\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = run_shell([shell("bash"), "--norc", "--noprofile", "-c", script])
    assert set(out.split()) == expected


@pytest.mark.parametrize(("words", "expected"), CASES)
def test_fish_completes_commands_and_options(words: list[str], expected: set[str]) -> None:
    line = " ".join(words)
    script = f"source {COMMITTED / 'k8smcp.fish'}; complete -C '{line}'"
    out = run_shell([shell("fish"), "--no-config", "-c", script])
    assert {row.split("\t")[0] for row in out.splitlines()} == expected


def test_zsh_registers_the_completion_function() -> None:
    script = (
        "autoload -Uz compinit && compinit -u -D\n"
        f"source {COMMITTED / '_k8smcp'}\n"
        "print -r -- ${_comps[k8smcp]}\n"
    )
    assert run_shell([shell("zsh"), "-f", "-c", script]).strip() == "_k8smcp_completion"
