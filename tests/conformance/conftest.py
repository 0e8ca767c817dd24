"""Conformance fixtures: the testbed's cluster, real k8smcp servers, the clients' installs.

The clients (TypeScript SDKs and the Inspector from tests/conformance/package-lock.json,
the Python SDK 1.x in a venv of its own) are installed by scripts/test; a missing one
skips locally and fails in CI (K8SMCP_REQUIRE_TESTBED=1), like a missing testbed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.scenario import NODE_MODULES, py1_python
from tests.conftest import BIN_DIR, K8SMCP, Server, k8smcp_env
from tests.integration import conftest as integration
from tests.testbed import Cluster

# the testbed's fixtures, shared with tests/integration
testbed_bin_dir = integration.testbed_bin_dir
testbed = integration.testbed
cluster_a = integration.cluster_a
unavailable = integration.unavailable


READY_TIMEOUT = 120  # seconds: the suite runs many servers and clients on shared CI machines


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        unavailable("node is not installed: the TypeScript clients cannot run")
    if not (NODE_MODULES / "@modelcontextprotocol" / "client").is_dir():
        unavailable("tests/conformance/node_modules is missing: run `npm ci` there (scripts/test)")
    return str(path)


@pytest.fixture(scope="session")
def py1() -> str:
    python = py1_python()
    if not python.exists():
        unavailable(f"{python} is missing: scripts/test makes the Python SDK 1.x venv")
    return str(python)


@pytest.fixture(scope="module")
def server_env(testbed_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The servers' environment: the venv's kubectl, the testbed's helm, istioctl, argocd."""
    env = k8smcp_env(tmp_path_factory.mktemp("k8smcp-tmp"))
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{testbed_bin_dir}{os.pathsep}{env['PATH']}"
    # The large-output scenario checks that every client carries a whole 1 MiB answer (the
    # output cap), so the model-sized MCP budget is out of its way here; the budget itself
    # is tested through every door in tests/integration/test_output.py.
    env["K8SMCP_OUTPUT_BUDGET"] = env["K8SMCP_MAX_OUTPUT_BUDGET"] = str(4 << 20)
    return env


@pytest.fixture(scope="module")
def http_server(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``k8smcp serve --read-only``: server level, the kubeconfig in X-Kubeconfig."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    server = Server("--read-only", env=server_env, log=log, ready_timeout=READY_TIMEOUT)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stdio_target(server_env: dict[str, str], cluster_a: Cluster) -> dict[str, Any]:
    """How a client spawns ``k8smcp stdio --read-only`` with the cluster's kubeconfig."""
    args = ["stdio", "--read-only", "--kubeconfig-b64", cluster_a.kubeconfig_b64()]
    return {"command": K8SMCP, "args": args, "env": server_env}
