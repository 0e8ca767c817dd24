"""The built image, run with podman as a user runs it (README's `docker run` line).

What each test starts is a real container of the image: `k8smcp serve` as its entry point,
the image's own kubectl, helm, istioctl and argocd, uid 10001, a read-only root with a
tmpfs /tmp. Networking: a published port on podman's default bridge network is how a
user reaches the server (the health and token tests); the calls that reach a testbed
cluster run the container with ``--network=host``, because the testbed's API servers
listen on the host's 127.0.0.1 and their certificates name that address, so the
kubeconfig a client sends works inside the container unchanged (on the bridge network
127.0.0.1 is the container's own loopback).
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
import yaml

import k8smcp
from tests import testbed as tb_pkg
from tests.conftest import SECRET_TOKEN, b64, free_port, make_kubeconfig
from tests.image.conftest import Container, podman, run_once
from tests.integration.conftest import unavailable
from tests.integration.entrypoints import McpEntry, RestEntry, http_client
from tests.testbed import Testbed
from tests.unit.test_dockerfile import read_versions

ROOT = Path(__file__).resolve().parents[2]
# README's line: docker run --read-only --tmpfs /tmp -p 9096:9096 -e K8SMCP_AUTH_TOKEN=...
READ_ONLY = ("--read-only", "--tmpfs", "/tmp")
PINS = read_versions()  # tests/testbed/versions, which the Dockerfile's pins equal
AUTH = {"Authorization": f"Bearer {SECRET_TOKEN}"}


def test_version(image: str) -> None:
    done = run_once(image, "--version", options=(*READ_ONLY, "--entrypoint", "k8smcp"))
    assert (done.returncode, done.stdout) == (0, f"k8smcp {k8smcp.__version__}\n"), done.stderr
    label = podman(
        "image",
        "inspect",
        "--format",
        '{{index .Labels "org.opencontainers.image.version"}}',
        image,
    )
    assert label.stdout.strip() == k8smcp.__version__


def test_tools_json_lists_the_four_clis_at_the_pinned_versions(image: str) -> None:
    done = run_once(image, "tools", "--json", options=(*READ_ONLY, "--entrypoint", "k8smcp"))
    assert done.returncode == 0, done.stderr
    tools = {t["tool"]: t for t in json.loads(done.stdout)}
    assert list(tools) == ["kubectl", "helm", "istioctl", "argocd"]
    expected = {
        "kubectl": ("/opt/k8smcp/bin/kubectl", PINS["KUBECTL"]),
        "helm": ("/usr/local/bin/helm", PINS["HELM"]),
        "istioctl": ("/usr/local/bin/istioctl", PINS["ISTIO_VERSION_LABEL"]),
        "argocd": ("/usr/local/bin/argocd", PINS["ARGOCD"]),
    }
    for name, (path, version) in expected.items():
        tool = tools[name]
        assert tool["available"] and tool["path"] == path, tool
        assert version in tool["version"], tool


def test_runs_as_uid_10001(image: str) -> None:
    user = podman("image", "inspect", "--format", "{{.User}}", image).stdout.strip()
    assert user == "10001:10001"
    done = run_once(
        image,
        "-c",
        "import os; print(os.getuid(), os.getgid(), os.getgroups())",
        options=(*READ_ONLY, "--entrypoint", "python"),
    )
    assert done.stdout.split() == ["10001", "10001", "[10001]"], done.stderr


WRITE_PROBE = textwrap.dedent(
    """\
    import errno, json, os, tempfile
    result = {}
    for path in ("/", "/opt/k8smcp", "/opt/k8smcp/lib", "/usr/local/bin", "/etc", "/tmp"):
        try:
            with tempfile.NamedTemporaryFile(dir=path):
                result[path] = "written"
        except OSError as e:
            result[path] = errno.errorcode[e.errno]
    print(json.dumps(result))
    """
)


def test_read_only_root_with_a_tmpfs_tmp(image: str) -> None:
    done = run_once(image, "-c", WRITE_PROBE, options=(*READ_ONLY, "--entrypoint", "python"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result.pop("/tmp") == "written"
    assert set(result.values()) == {"EROFS"}, result
    mounts = run_once(image, "/proc/mounts", options=(*READ_ONLY, "--entrypoint", "cat")).stdout
    tmp = next(line.split() for line in mounts.splitlines() if line.split()[1] == "/tmp")
    assert tmp[2] == "tmpfs"
    # Without --read-only the image's own files still are not the server's to change.
    done = run_once(image, "-c", WRITE_PROBE, options=("--entrypoint", "python"))
    result = json.loads(done.stdout)
    assert result.pop("/tmp") == "written"
    assert set(result.values()) == {"EACCES"}, result


def test_serve_is_healthy_through_a_published_port(run_container: Any) -> None:
    port = free_port()
    container = run_container(
        *READ_ONLY, "-p", f"127.0.0.1:{port}:9096", "-e", f"K8SMCP_AUTH_TOKEN={SECRET_TOKEN}"
    )
    url = f"http://127.0.0.1:{port}"
    assert container.wait_health(url) == {"status": "ok", "version": k8smcp.__version__}
    # The HEALTHCHECK command, run by podman in the container, passes.
    check = podman("healthcheck", "run", container.id, check=False)
    assert (check.returncode, check.stdout.strip()) == (0, ""), check.stderr
    health = podman("inspect", "--format", "{{.State.Health.Status}}", container.id)
    assert health.stdout.strip() == "healthy"
    # A call: refused without the token, answered with it (kubectl of the image, no cluster).
    body = {"command": "version --client -o json"}
    # never contacted (`version --client`); not loopback, which a server listening beyond
    # loopback refuses
    kubeconfig = {"X-Kubeconfig": b64(make_kubeconfig("https://192.0.2.1:6443"))}
    refused = httpx.post(f"{url}/tools/kubectl", json=body, headers=kubeconfig, timeout=60)
    assert refused.status_code == 401
    answered = httpx.post(
        f"{url}/tools/kubectl", json=body, headers={**kubeconfig, **AUTH}, timeout=60
    )
    assert answered.status_code == 200, answered.text
    version = json.loads(answered.json()["stdout"])["clientVersion"]["gitVersion"]
    assert version == PINS["KUBECTL"]
    assert SECRET_TOKEN not in container.logs()


def test_healthcheck_reports_a_server_that_does_not_answer(run_container: Any) -> None:
    container = run_container(*READ_ONLY, "--entrypoint", "sleep", args=("300",))
    check = podman("healthcheck", "run", container.id, check=False)
    assert check.returncode == 1 and check.stdout.strip() == "unhealthy", check


def test_serve_refuses_to_listen_beyond_loopback_without_a_token(image: str) -> None:
    port = free_port()
    done = podman(
        "run", "--rm", *READ_ONLY, "-p", f"127.0.0.1:{port}:9096", image, check=False, timeout=60
    )
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0 without authentication" in done.stderr
    # It never served: the container is gone and nothing answers on the published port.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


@pytest.fixture(scope="module")
def host_server(image: str, clusters: Testbed) -> Any:
    """`k8smcp serve` in the image on the host's network, on a free loopback port.

    Extra arguments are appended to the image's `serve --host 0.0.0.0 --port 9096`, and
    the last of a repeated option wins: loopback only, so no token is needed.
    """
    port = free_port()
    container = Container(
        image, "--network=host", *READ_ONLY, args=("--host", "127.0.0.1", "--port", str(port))
    )
    try:
        url = f"http://127.0.0.1:{port}"
        container.wait_health(url)
        yield url
    finally:
        container.remove()


def test_rest_and_mcp_calls_run_kubectl_get_ns_on_a_testbed_cluster(
    host_server: str, clusters: Testbed
) -> None:
    a, b = clusters.a, clusters.b
    rest = RestEntry(host_server)
    done = rest("kubectl", "get ns -o name", kubeconfig=a.admin_kubeconfig_b64)
    assert done.ok, done
    assert f"namespace/{a.marker_namespace}" in done.stdout.split()
    assert f"namespace/{b.marker_namespace}" not in done.stdout.split()
    with anyio.from_thread.start_blocking_portal() as portal:
        mcp = McpEntry("mcp_http", portal, http_client(f"{host_server}/mcp"))
        try:
            done = mcp("kubectl", "get ns -o name", kubeconfig=b.admin_kubeconfig_b64)
        finally:
            mcp.close()
    assert done.ok, done
    assert f"namespace/{b.marker_namespace}" in done.stdout.split()
    assert f"namespace/{a.marker_namespace}" not in done.stdout.split()


BUILD_LEFTOVERS = textwrap.dedent(
    """\
    import glob, json, os, sys
    print(json.dumps({
        "present": [p for p in ("/src", "/out", "/go", "/usr/local/go", "/root/.cache",
                                "/tmp/kubectl.txt", "/var/tmp/buildah-cache")
                    if os.path.lexists(p)],
        "apt": sorted(glob.glob("/var/lib/apt/lists/*Packages*")
                      + glob.glob("/var/cache/apt/*.bin")),
        "pip": sorted(glob.glob("/opt/k8smcp/lib/python3*/site-packages/pip*")
                      + glob.glob("/opt/k8smcp/lib/python3*/site-packages/setuptools*")),
        "local_bin": sorted(os.listdir("/usr/local/bin")),
        "ca_bundle": open("/etc/ssl/certs/ca-certificates.crt").read(),
    }))
    """
)


def test_nothing_from_the_build_stages_or_the_build_host_is_in_the_image(image: str) -> None:
    done = run_once(image, "-c", BUILD_LEFTOVERS, options=(*READ_ONLY, "--entrypoint", "python"))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["present"] == []
    assert found["pip"] == []
    assert found["apt"] == []  # package lists and apt's caches (77 MB) are build leftovers
    assert found["local_bin"] == ["argocd", "helm", "istioctl"]
    # The build bind-mounts the host's CA bundle for its RUN steps; the certificates this
    # host adds to Debian's (an intercepting proxy's, say) must not have stayed behind.
    for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        body = "".join(cert.read_text().split("-----")[2].split())
        assert body not in "".join(found["ca_bundle"].split()), cert


def test_the_charts_default_image_is_what_build_image_tags() -> None:
    if "helm" in tb_pkg.missing_binaries():
        unavailable(f"the testbed's helm is not built in {tb_pkg.bin_dir()}")
    rendered = subprocess.run(
        [
            str(tb_pkg.binary("helm")),
            "template",
            "k8smcp",
            str(ROOT / "charts" / "k8smcp"),
            "--set",
            "anyServer=true",  # the chart asks which clusters it may reach
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    deployment = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")
    reference = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    # scripts/build-image's default tag; podman has it (scripts/test built it).
    assert reference == f"k8smcp:{k8smcp.__version__}"
    assert podman("image", "exists", reference, check=False).returncode == 0, reference


# --- confinement inside the container (issue 14) -------------------------------------
# The `confine` work puts its in-container check here, against `host_server` (the image's
# serve on the host network, reaching the testbed clusters): a call whose CLI tries to
# step outside its confinement, and proof from outside that it did not.
