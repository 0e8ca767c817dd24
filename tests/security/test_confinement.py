"""Confinement alone stops what the CLIs do after the policy check, with that check off.

Invariant: with the argv and kubeconfig policy switched off (``Unchecked`` skips every
check a call makes before it runs), a confined kubectl

- writes no file outside its call directory (and its cluster's discovery cache) when the
  kubeconfig's ``server`` path climbs (``/../../``) or the API server names a group
  ``../../x`` — the same calls unconfined do write there, which proves each attack real;
- makes no connection the address policy refuses, however it learns the address: a
  redirect from the API server or from a URL it fetches, a name that resolves elsewhere
  at connect time, a direct connection that names no proxy. A canary listener on
  127.0.0.2 (on the operator's deny list) counts every connection it accepts: none.

The API server is a small local HTTP server answering discovery (the attack needs an
API server that lies, which the testbed's real ones never do).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8smcp import landlock
from k8smcp.config import Settings, discovery_cache_root
from k8smcp.policy import Policy
from k8smcp.service import Service, ToolCall
from tests.conftest import Listener, b64, listening, make_kubeconfig

pytestmark = pytest.mark.anyio

CANARY_HOST = "127.0.0.2"  # loopback too, but refused by the policy below
# read at import: the root conftest strips K8SMCP_* variables for every test
_REQUIRE_TESTBED = os.environ.get("K8SMCP_REQUIRE_TESTBED") == "1"


class Unchecked(Service):
    """A Service with the argv and kubeconfig policy switched off: only confinement acts."""

    def _check_command(self, command: Any, lookups: Any) -> None:
        return None

    async def _check_kubeconfig(self, data: Any) -> None:
        return None


@pytest.fixture
def canary() -> Iterator[Listener]:
    """A TCP listener that records every connection it accepts."""
    with listening(CANARY_HOST) as found:
        yield found


class _Lying(http.server.BaseHTTPRequestHandler):
    """Discovery from an API server that names a climbing group; redirects on request."""

    group = "x"
    redirect_to = ""
    prefix = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        gv = f"{self.group}/v1"
        if self.redirect_to and path in ("/api/v1/namespaces", "/manifest.yaml"):
            self.send_response(302)
            self.send_header("location", self.redirect_to + path)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if path == "/api":
            body: dict[str, Any] = {"kind": "APIVersions", "versions": ["v1"]}
        elif path == "/apis":
            version = {"groupVersion": gv, "version": "v1"}
            group = {"name": self.group, "versions": [version], "preferredVersion": version}
            body = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}
        elif path == "/api/v1":
            ns = {"name": "namespaces", "singularName": "namespace", "namespaced": False}
            ns |= {"kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]}
            body = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [ns]}
        elif path == "/api/v1/namespaces":
            items = [{"metadata": {"name": "from-the-lying-server"}}]
            body = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items}
        elif path.endswith("/v1"):
            thing = {"name": "things", "singularName": "thing", "namespaced": False}
            thing |= {"kind": "Thing", "verbs": ["get", "list"]}
            body = {"kind": "APIResourceList", "groupVersion": gv, "resources": [thing]}
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _api_server(**attrs: str) -> Iterator[str]:
    handler = type("Handler", (_Lying,), attrs)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _service(
    tmp_path: Path, *, confine: bool = True, shared_cache: bool = True, **policy: Any
) -> Service:
    settings = Settings(
        policy=Policy.server(denied_servers=(CANARY_HOST,), **policy),
        confine=confine,
        cache_root=discovery_cache_root(tmp_path / "cache") if shared_cache else None,
    )
    return Unchecked(settings)


async def _kubectl(service: Service, server: str, command: str) -> Any:
    call = ToolCall(tool="kubectl", command=command, kubeconfig=b64(make_kubeconfig(server)))
    try:
        return await service.call_tool(call)
    finally:
        await service.aclose()


def _outside(root: Path, cache: Path) -> list[str]:
    """Files under ``root`` that are not in the shared discovery cache."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and cache not in p.parents
    )


# --- files written from names the caller controls ----------------------------------------


@pytest.mark.parametrize("confined", [True, False], ids=["confined", "unconfined-control"])
async def test_a_server_path_that_climbs_writes_nothing_outside(
    tmp_path: Path, confined: bool
) -> None:
    target = tmp_path / "planted-by-server-path"
    # client-go names the directory after the URL with every character but [\w/.()]
    # replaced by "_": the path kubectl writes to is that of the mangled name
    mangled = Path(re.sub(r"[^(\w/.)]", "_", str(target)))
    climb = "/.." * 40 + str(target)
    try:
        for url in _api_server(prefix=str(target)):
            service = _service(tmp_path, confine=confined)
            result = await _kubectl(service, url + climb, "get ns")
        assert result.exit_code == 0, result.stderr
        if confined:
            assert not mangled.exists()
            assert _outside(tmp_path, tmp_path / "cache") == []
        else:  # the attack is real: kubectl wrote its discovery cache where the path led
            assert (mangled / "servergroups.json").exists()
    finally:  # the mangled tree starts where its path first differs from the real one
        first = next(
            (i for i, (a, b) in enumerate(zip(target.parts, mangled.parts, strict=True)) if a != b),
            len(mangled.parts) - 1,
        )
        shutil.rmtree(Path(*mangled.parts[: first + 1]), ignore_errors=True)


@pytest.mark.parametrize("confined", [True, False], ids=["confined", "unconfined-control"])
@pytest.mark.parametrize("shared_cache", [True, False], ids=["shared-cache", "private-cache"])
async def test_a_group_name_that_climbs_writes_nothing_outside(
    tmp_path: Path, confined: bool, shared_cache: bool
) -> None:
    target = tmp_path / "planted-by-group"
    group = "/".join([".."] * 40) + str(target)
    for url in _api_server(group=group):
        service = _service(tmp_path, confine=confined, shared_cache=shared_cache)
        result = await _kubectl(service, url, "get ns")
    assert "from-the-lying-server" in result.stdout, result.stderr
    if confined:
        assert not target.exists()
        assert _outside(tmp_path, tmp_path / "cache") == []
    else:
        assert list(target.rglob("serverresources.json"))


# --- connections the policy never saw ----------------------------------------------------


async def test_an_api_server_redirect_to_a_refused_address_connects_nowhere(
    tmp_path: Path, canary: Listener
) -> None:
    for url in _api_server(redirect_to=f"http://{CANARY_HOST}:{canary.port}"):
        result = await _kubectl(_service(tmp_path), url, "get ns")
    assert result.exit_code != 0
    assert canary.accepted == []


async def test_a_fetched_url_that_redirects_connects_nowhere(
    tmp_path: Path, canary: Listener
) -> None:
    for url in _api_server(redirect_to=f"http://{CANARY_HOST}:{canary.port}"):
        # apply -f URL: kubectl fetches it itself, directly (a loopback URL never goes
        # through a proxy), and follows the redirect to the canary's port
        result = await _kubectl(_service(tmp_path), url, f"apply -f {url}/manifest.yaml")
    assert result.exit_code != 0
    assert canary.accepted == []


async def test_a_name_that_resolves_elsewhere_at_connect_time_connects_nowhere(
    tmp_path: Path, canary: Listener
) -> None:
    answers = {"api.rebind.test": [CANARY_HOST]}  # what DNS says when kubectl connects
    service = _service(tmp_path, resolver=lambda name: answers[name])
    result = await _kubectl(service, f"http://api.rebind.test:{canary.port}", "get ns")
    assert result.exit_code != 0
    assert canary.accepted == []


async def test_a_name_the_policy_admits_is_reached_through_the_proxy(tmp_path: Path) -> None:
    for url in _api_server():
        port = url.rsplit(":", 1)[1]
        service = _service(tmp_path, resolver=lambda name: ["127.0.0.1"])
        result = await _kubectl(service, f"http://api.example.test:{port}", "get ns")
    assert result.exit_code == 0, result.stderr
    assert "from-the-lying-server" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        # no kubeconfig: no proxy-url, and Go never proxies a loopback literal
        "get ns --kubeconfig=/dev/null --server=http://{canary}",
        # the call's kubeconfig (proxy-url: the egress proxy) with another server
        "get ns --server=http://{canary}",
    ],
    ids=["direct", "through-the-proxy"],
)
async def test_a_server_flag_to_a_refused_address_connects_nowhere(
    tmp_path: Path, canary: Listener, command: str
) -> None:
    for url in _api_server():
        where = f"{CANARY_HOST}:{canary.port}"
        result = await _kubectl(_service(tmp_path), url, command.format(canary=where))
    assert result.exit_code != 0
    assert canary.accepted == []


@pytest.mark.parametrize("confined", [True, False], ids=["confined", "unconfined-control"])
async def test_an_address_flag_the_grammar_does_not_know_connects_nowhere(
    tmp_path: Path, canary: Listener, confined: bool
) -> None:
    """istioctl's gRPC address flags dial wherever they say, policy or not."""
    istioctl = _testbed_binary("istioctl")
    for url in _api_server():
        settings = Settings(
            policy=Policy.server(denied_servers=(CANARY_HOST,)),
            confine=confined,
            binaries={"istioctl": istioctl},
        )
        service = Unchecked(settings)
        call = ToolCall(
            tool="istioctl",
            command=f"proxy-status --xds-address {CANARY_HOST}:{canary.port} "
            "--plaintext --revision default --timeout 3s",
            kubeconfig=b64(make_kubeconfig(url)),
            timeout=10,
        )
        try:
            result = await service.call_tool(call)
        finally:
            await service.aclose()
    if confined:
        assert canary.accepted == [], result.stderr
    else:  # the flag really dials the canary
        assert canary.accepted, result.stderr


def _testbed_binary(name: str) -> str:
    from tests import testbed

    path = testbed.bin_dir() / name
    if not path.exists():
        message = f"{path} is missing (run tests/testbed/build)"
        if _REQUIRE_TESTBED:
            pytest.fail(f"{message}; K8SMCP_REQUIRE_TESTBED=1 forbids skipping")
        pytest.skip(message)
    return str(path)


async def test_a_kubeconfig_proxy_url_is_refused_while_confined(tmp_path: Path) -> None:
    config = make_kubeconfig("https://127.0.0.1:1")
    config["clusters"][0]["cluster"]["proxy-url"] = "http://127.0.0.1:3128"
    service = _service(tmp_path)
    call = ToolCall(tool="kubectl", command="get ns", kubeconfig=b64(config))
    from k8smcp.errors import KubeconfigError

    try:
        with pytest.raises(KubeconfigError, match="proxy-url"):
            await service.call_tool(call)
    finally:
        await service.aclose()


async def test_a_confined_child_is_killed_whole_on_timeout(tmp_path: Path) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    marker = f"k8smcp-kill-test={uuid.uuid4().hex}"
    with silent:
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"
        call = ToolCall(
            tool="kubectl",
            command=f"get ns -l {marker}",
            kubeconfig=b64(make_kubeconfig(server)),
            timeout=1,
        )
        service = _service(tmp_path)
        try:
            result = await service.call_tool(call)
        finally:
            await service.aclose()
    assert result.timed_out and result.exit_code == 124
    assert not [p for p in Path("/proc").glob("[0-9]*") if marker in _cmdline(p)]


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_this_kernel_confines() -> None:
    """CI runs on a kernel with Landlock ABI 4+; no test here may pass by skipping."""
    assert landlock.abi_version() >= 4
