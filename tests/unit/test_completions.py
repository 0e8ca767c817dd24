"""The committed completion scripts (completions/) are exactly what scripts/gen-completions
makes from the Typer app today, and the bash one completes k8smcp's commands and options
when a real bash sources it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "completions"
FILES = ("k8smcp.bash", "_k8smcp", "k8smcp.fish")
K8SMCP = Path(sys.executable).parent / "k8smcp"


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


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["k8smcp", "se"], {"serve"}),
        (["k8smcp", "serve", "--max-c"], {"--max-concurrency"}),
        (["k8smcp", "t"], {"tools"}),
    ],
)
def test_bash_completes_commands_and_options(words: list[str], expected: set[str]) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    script = (
        f"source {COMMITTED / 'k8smcp.bash'}\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}\n"
        "_k8smcp_completion k8smcp\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        env={"PATH": f"{K8SMCP.parent}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert set(done.stdout.split()) == expected
