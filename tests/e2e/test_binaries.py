"""Which binary runs: K8SMCP_<TOOL>_BIN, then the one beside k8smcp, then PATH.

Started as `.venv/bin/k8smcp` without the venv on PATH (as README's quick start does),
k8smcp runs the kubectl installed beside it, not another one found on PATH, and `tools`
and `doctor` say which one and why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import BIN_DIR, run_k8smcp

OTHER_KUBECTL = """#!/bin/sh
echo "other kubectl: $*"
"""


def path_without_venv(other: Path) -> str:
    parts = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p]
    return os.pathsep.join([str(other), *(p for p in parts if Path(p) != Path(BIN_DIR))])


def test_the_kubectl_beside_k8smcp_wins_over_path(tmp_path: Path) -> None:
    other = tmp_path / "bin"
    other.mkdir()
    (other / "kubectl").write_text(OTHER_KUBECTL)
    (other / "kubectl").chmod(0o755)
    env = {"PATH": path_without_venv(other), "HOME": str(tmp_path), "LANG": "C.UTF-8"}

    tools = {t["tool"]: t for t in json.loads(run_k8smcp("tools", "--json", env=env).stdout)}
    assert tools["kubectl"]["path"] == str(Path(BIN_DIR) / "kubectl")
    assert tools["kubectl"]["source"] == "beside k8smcp"
    ran = run_k8smcp("run", "kubectl", "version", "--client", env=env)
    assert ran.returncode == 0 and "other kubectl" not in ran.stdout
    assert "Client Version" in ran.stdout

    doctor = json.loads(run_k8smcp("doctor", "--json", env=env).stdout)
    kubectl = next(c for c in doctor if c["name"] == "kubectl")
    assert kubectl["detail"].endswith(f"at {BIN_DIR}/kubectl (from beside k8smcp)")

    # an operator's K8SMCP_KUBECTL_BIN still wins, and says so
    env["K8SMCP_KUBECTL_BIN"] = str(other / "kubectl")
    tools = {t["tool"]: t for t in json.loads(run_k8smcp("tools", "--json", env=env).stdout)}
    assert tools["kubectl"]["path"] == str(other / "kubectl")
    assert tools["kubectl"]["source"] == "K8SMCP_KUBECTL_BIN"
    ran = run_k8smcp("run", "kubectl", "version", "--client", env=env)
    assert ran.stdout.startswith("other kubectl: version --client")


def test_path_is_searched_for_what_is_not_beside_k8smcp(tmp_path: Path) -> None:
    other = tmp_path / "bin"
    other.mkdir()
    (other / "helm").write_text("#!/bin/sh\necho v4.0.0+gabc\n")
    (other / "helm").chmod(0o755)
    env = {"PATH": path_without_venv(other), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    tools = {t["tool"]: t for t in json.loads(run_k8smcp("tools", "--json", env=env).stdout)}
    assert tools["helm"]["path"] == str(other / "helm") and tools["helm"]["source"] == "PATH"
