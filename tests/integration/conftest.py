"""Integration fixtures: the testbed's two real clusters, shared by the session.

Fixtures:

- ``testbed`` (session): a ``tests.testbed.Testbed`` with ``.a`` and ``.b``
- ``cluster_a`` / ``cluster_b`` (session): the two ``tests.testbed.Cluster`` objects
- ``namespace`` (function): a fresh namespace on cluster A, labelled
  ``k8smcp.test/namespace=true``, deleted with ``--wait=false`` afterwards

If the testbed binaries are not built, the tests using these fixtures are skipped
(run ``tests/testbed/build``); with ``K8SMCP_REQUIRE_TESTBED=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import testbed as tb_pkg
from tests.integration.seed import fresh_namespace
from tests.testbed import Cluster, Testbed

REQUIRE_ENV = "K8SMCP_REQUIRE_TESTBED"
# Read at import: the root conftest strips K8SMCP_* variables for every test.
_REQUIRED = os.environ.get(REQUIRE_ENV) == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs the testbed (real clusters and CLIs, tests/testbed)"
    )


def testbed_required() -> bool:
    return _REQUIRED


def unavailable(reason: str) -> None:
    """Skip, or fail when K8SMCP_REQUIRE_TESTBED=1."""
    if testbed_required():
        pytest.fail(f"{reason} (and {REQUIRE_ENV}=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def testbed_bin_dir() -> Path:
    """The testbed bin dir; skips (or fails) the test if any binary is missing."""
    missing = tb_pkg.missing_binaries()
    if missing:
        unavailable(
            f"testbed binaries missing in {tb_pkg.bin_dir()}: {', '.join(missing)} "
            "(run tests/testbed/build)"
        )
    return tb_pkg.bin_dir()


@pytest.fixture(scope="session")
def testbed(testbed_bin_dir: Path) -> Iterator[Testbed]:
    """Clusters A and B, started once per session and stopped at its end."""
    try:
        tb = tb_pkg.start_testbed()
    except tb_pkg.TestbedUnavailable as e:
        unavailable(str(e))
    with tb:
        yield tb


@pytest.fixture(scope="session")
def cluster_a(testbed: Testbed) -> Cluster:
    return testbed.a


@pytest.fixture(scope="session")
def cluster_b(testbed: Testbed) -> Cluster:
    return testbed.b


@pytest.fixture
def namespace(cluster_a: Cluster) -> Iterator[str]:
    """A fresh labelled namespace on cluster A, deleted (without waiting) afterwards."""
    with fresh_namespace(cluster_a) as name:
        yield name


# Entry-point fixtures (every door into k8smcp, against the testbed): see entrypoints.py.
from tests.integration.entrypoints import (  # noqa: E402, F401
    entries,
    entry,
    testbed_env,
    testbed_server,
)
