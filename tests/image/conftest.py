"""Fixtures for the built image, run with podman as a user would.

The image is ``K8SMCP_IMAGE`` (default ``k8smcp:<version>``: what scripts/build-image tags
and the Helm chart pulls); scripts/test builds it before pytest. Without podman or the
image these tests skip, and fail instead under ``K8SMCP_REQUIRE_TESTBED=1`` (CI).

Fixtures:

- ``image`` (session): the image's name, once podman has it
- ``run_container`` (function): ``run_container(*podman_run_options, args=...)`` starts a
  detached container and returns a ``Container``; all are removed after the test
- ``clusters`` (module): the testbed's clusters A and B, started for this directory only
  (its tests run before tests/integration, whose session clusters start later)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import k8smcp
from tests import testbed as tb_pkg
from tests.integration.conftest import unavailable
from tests.testbed import Testbed

# Read at import: the root conftest strips K8SMCP_* variables for every test.
IMAGE = os.environ.get("K8SMCP_IMAGE") or f"k8smcp:{k8smcp.__version__}"
PODMAN = shutil.which("podman")


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``podman ARGS``; raises with podman's stderr when ``check`` and it fails."""
    assert PODMAN is not None
    done = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and done.returncode:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def run_once(
    image: str, *args: str, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``podman run --rm OPTIONS IMAGE ARGS``: a command in a throwaway container."""
    return podman("run", "--rm", *options, image, *args, check=False)


@pytest.fixture(scope="session")
def image() -> str:
    if PODMAN is None:
        unavailable("podman is not installed (scripts/build-image installs it)")
    if podman("image", "exists", IMAGE, check=False).returncode:
        unavailable(f"podman has no image {IMAGE} (build it with scripts/build-image)")
    return IMAGE


class Container:
    """A detached ``podman run`` of the image."""

    def __init__(self, image: str, *options: str, args: tuple[str, ...] = ()) -> None:
        self.id = podman("run", "--detach", *options, image, *args).stdout.strip()

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.id, check=False)
        return state.stdout.strip() == "true"

    def logs(self) -> str:
        done = podman("logs", self.id, check=False)
        return done.stdout + done.stderr

    def wait_health(self, url: str, timeout: float = 60) -> dict[str, Any]:
        """Poll ``url``/health until it answers 200; fail with the logs if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{url}/health", timeout=2)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError:
                pass
            if not self.running():
                break
            time.sleep(0.2)
        raise AssertionError(f"no /health at {url}; container logs:\n{self.logs()}")

    def remove(self) -> None:
        podman("rm", "--force", "--time", "2", self.id, check=False)


@pytest.fixture
def run_container(image: str) -> Iterator[Any]:
    started: list[Container] = []

    def start(*options: str, args: tuple[str, ...] = ()) -> Container:
        container = Container(image, *options, args=args)
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove()


@pytest.fixture(scope="module")
def clusters() -> Iterator[Testbed]:
    try:
        tb = tb_pkg.start_testbed()
    except tb_pkg.TestbedUnavailable as e:
        unavailable(str(e))
    with tb:
        yield tb
