"""`k8smcp serve` works on a read-only root filesystem, writing only to TMPDIR, as the
container image and the Helm chart run it (readOnlyRootFilesystem, /tmp an emptyDir).

The server runs in a private mount namespace (``unshare -m``) where / is remounted
read-only and TMPDIR is a fresh tmpfs. That needs root (CAP_SYS_ADMIN); elsewhere the
test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN_DIR, K8SMCP, b64, free_port, leftovers, make_kubeconfig

SERVER_PATH = "config view -o jsonpath='{.clusters[0].cluster.server}'"


def can_unshare() -> bool:
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return False
    done = subprocess.run([unshare, "-m", "true"], capture_output=True, timeout=10)
    return done.returncode == 0


pytestmark = pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m")


def test_serve_runs_kubectl_with_a_read_only_root(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmpfs"
    tmpdir.mkdir()
    port = free_port()
    script = f"""
set -e
mount --make-rprivate /
mount -t tmpfs -o size=64m,mode=1777 tmpfs {tmpdir}
mount -o remount,bind,ro /
if touch /k8smcp-readonly-probe 2>/dev/null; then echo "root is writable" >&2; exit 97; fi
exec env -i PATH={BIN_DIR}:/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 TMPDIR={tmpdir} \\
    PYTHONDONTWRITEBYTECODE=1 {K8SMCP} serve --host 127.0.0.1 --port {port}
"""
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["unshare", "-m", "bash", "-c", script],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"serve exited {process.returncode}: {log.read_text()}"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no /health after 30s: {log.read_text()}"
            time.sleep(0.1)

        # A call writes its private directory and kubeconfig under TMPDIR, and runs kubectl.
        kubeconfig = b64(make_kubeconfig("https://127.0.0.1:6443"))
        for _ in range(3):
            response = httpx.post(
                f"{url}/tools/kubectl",
                json={"command": SERVER_PATH},
                headers={"X-Kubeconfig": kubeconfig},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            result = response.json()
            assert result["exit_code"] == 0, result
            assert result["stdout"] == "https://127.0.0.1:6443"
        # Seen from inside the server's namespace, TMPDIR is the tmpfs: the calls' private
        # directories are gone, and only the shared discovery cache (0700) is left, which
        # lands there because the home directory is not writable, beside the spare
        # directories the server keeps ready (0700, empty).
        inside = Path(f"/proc/{process.pid}/root") / str(tmpdir).lstrip("/")
        assert leftovers(inside) in ([], [f"k8smcp-cache-{os.getuid()}"])
        assert all(p.stat().st_mode & 0o077 == 0 for p in inside.iterdir())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()
    assert "discovery cache off" not in log.read_text()
