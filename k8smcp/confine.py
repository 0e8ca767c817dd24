"""Landlock confinement of each child: its own directory, the CLIs' files, the proxy port.

A confined child writes only inside its call directory (and its cluster's discovery
cache), reads only what the CLIs need, and opens TCP connections only to k8smcp's egress
proxy (``k8smcp.egress``).

The rules are applied to a short-lived thread that then starts the child (vfork/exec, as
any start; ``Starter``); the child and everything it starts inherit them, and nothing
else in k8smcp is touched. See SECURITY.md ("Confinement") for what this closes and what it leaves.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import queue
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import anyio

from k8smcp import landlock
from k8smcp.errors import K8sMcpError, KubeconfigError, UsageError
from k8smcp.policy import Policy
from k8smcp.policy.address import check_host

MIN_ABI = 4  # TCP port rules (Linux 6.7)

# Read (and execute) only: binaries, libraries, CA bundles, name resolution, time zones.
SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/bin",
    "/sbin",
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/passwd",
    "/etc/group",
    "/dev/urandom",
    "/dev/random",
    # what the Go runtime reads at start (huge pages, CPU limits); never /proc/<pid>
    "/sys/kernel/mm/transparent_hugepage",
    "/sys/fs/cgroup",
    "/proc/sys/kernel",
    "/proc/sys/net/core/somaxconn",
)
DEV_NULL = "/dev/null"
_WRITE_ALL = (1 << 16) - 1  # every file right; the ruleset keeps those its ABI knows
_SCOPES = landlock.SCOPE_ABSTRACT_UNIX_SOCKET | landlock.SCOPE_SIGNAL
# A URL argument naming a loopback host, which Go clients never send through a proxy.
_LOOPBACK_URL = re.compile(
    r"(?:^|=)(https?)://(?:[^/@\s]*@)?(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::(\d{1,5}))?(?:[/?#]|$)",
    re.I,
)


def unavailable_reason() -> str | None:
    """Why children cannot be confined on this kernel, or None when they can."""
    abi = landlock.abi_version()
    if abi == 0:
        return (
            "the kernel offers no Landlock (Linux 5.13+ with landlock in the lsm= list, "
            "not blocked by seccomp)"
        )
    if abi < MIN_ABI:
        return f"the kernel offers Landlock ABI {abi}; TCP rules need ABI {MIN_ABI} (Linux 6.7+)"
    return None


def require() -> None:
    """Refuse when children cannot be confined here.

    Raises:
        UsageError: naming the missing mechanism and the opt-out.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise UsageError(
            f"cannot confine the CLIs k8smcp runs: {reason}. Run on a kernel with "
            "Landlock ABI 4+, or pass --no-confine (K8SMCP_CONFINE=false) to run them "
            "unconfined (SECURITY.md, Confinement)"
        )


@dataclass(frozen=True, slots=True)
class Confinement:
    """What one child may touch.

    Args:
        writable: directories it may write (its call directory, its cache).
        readable: paths it may read and execute, beyond SYSTEM_READ.
        connect_ports: the only TCP ports it may connect to; None leaves TCP unconfined.
        read_all: reads are not confined (local level: the user's own files).
    """

    writable: tuple[str, ...]
    readable: tuple[str, ...] = ()
    connect_ports: tuple[int, ...] | None = ()
    read_all: bool = False

    def ruleset(self) -> landlock.Ruleset:
        """The Landlock ruleset of this confinement (the caller closes it).

        Writable directories that do not exist yet are made (0700), so a rule binds them.
        """
        abi = landlock.abi_version()
        fs = landlock.fs_rights(abi)
        net = 0
        if self.connect_ports is not None:
            net = landlock.NET_BIND_TCP | landlock.NET_CONNECT_TCP
        ruleset = landlock.Ruleset(fs=fs, net=net, scoped=_SCOPES if abi >= 6 else 0)
        try:
            read = ("/",) if self.read_all else (*SYSTEM_READ, *self.readable)
            ruleset.allow_paths(read, landlock.FS_READ_EXEC)
            ruleset.allow_paths((DEV_NULL,), landlock.FS_READ | landlock.FS_WRITE_FILE)
            for path in self.writable:  # a cache directory may be new: make it, private
                os.makedirs(path, mode=0o700, exist_ok=True)
            ruleset.allow_paths(self.writable, _WRITE_ALL)
            for port in self.connect_ports or ():
                ruleset.allow_port(port, landlock.NET_CONNECT_TCP)
        except BaseException:
            ruleset.close()
            raise
        return ruleset


class Starter:
    """Starts confined children, each from a thread of its own, parked ahead of need.

    Landlock cannot be lifted, so a thread confines itself, starts one child and ends.
    Making a thread on the call's path cost a few milliseconds more than starting from a
    warm one (bench part ``confinement``), so ``SPARES`` threads wait parked, made by a
    helper thread (never the event loop, never a confined thread: threads inherit it).
    ``spares=0`` (a one-shot process) parks none: each start makes its thread then.
    """

    SPARES = 2

    def __init__(self, spares: int = SPARES) -> None:
        self._spares: deque[_Parked] = deque()  # append and popleft are thread-safe
        self._wanted = spares
        self._maker: ThreadPoolExecutor | None = None

    async def start(
        self, confinement: Confinement, argv: list[str], **popen: Any
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` under ``confinement``; ``popen`` is Popen's cwd, env, stdin...

        Raises:
            OSError: the ruleset could not be built, or the binary could not be started.
        """
        try:
            parked = self._spares.popleft()
        except IndexError:
            parked = _Parked()
        parked.hand(confinement, argv, popen)
        try:
            # shielded: a cancel may not leave a started child unknown to the caller
            with anyio.CancelScope(shield=True):
                await anyio.wait_readable(parked.done)
        finally:
            self._replenish()  # after the start, not beside it (in process: 2.1 -> 1.85 ms)
        return parked.outcome()

    def close(self) -> None:
        """End the parked threads (calls after it still work, without spares)."""
        if self._maker is not None:
            self._maker.shutdown(wait=True)
            self._maker = None
        while self._spares:
            self._spares.popleft().hand(None, [], {})

    def _replenish(self) -> None:
        if not self._wanted:
            return
        if self._maker is None:
            self._maker = ThreadPoolExecutor(1, thread_name_prefix="k8smcp-confine-spares")
        try:
            self._maker.submit(self._make_spare)
        except RuntimeError:  # the interpreter is exiting
            pass

    def _make_spare(self) -> None:
        if len(self._spares) < self._wanted:
            self._spares.append(_Parked())


class _Parked:
    """A thread waiting for the one child it will start; ``done`` (an eventfd) tells."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Confinement | None, list[str], dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        self.done = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._outcome: subprocess.Popen[bytes] | BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="k8smcp-confined-start", daemon=True)
        self.thread.start()

    def hand(self, confinement: Confinement | None, argv: list[str], popen: dict[str, Any]) -> None:
        """Give the thread its child to start (None: end without starting one)."""
        self._jobs.put((confinement, argv, popen))

    def outcome(self) -> subprocess.Popen[bytes]:
        """The child started (after ``done`` is readable)."""
        os.close(self.done)
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome

    def _main(self) -> None:
        confinement, argv, popen = self._jobs.get()
        if confinement is None:
            os.close(self.done)
            return
        try:
            ruleset = confinement.ruleset()
            try:
                ruleset.restrict()
            finally:
                ruleset.close()
            # its own process group, killed whole
            self._outcome = subprocess.Popen(argv, start_new_session=True, **popen)
        except BaseException as exc:  # handed to the caller's thread
            self._outcome = exc
        finally:
            os.eventfd_write(self.done, 1)


def spawn(confinement: Confinement, argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``Starter.start`` for synchronous callers: blocks until the child has started."""
    parked = _Parked()
    parked.hand(confinement, argv, popen)
    parked.thread.join()
    return parked.outcome()


@functools.lru_cache(maxsize=64)
def binary_dirs(argv0: str) -> tuple[str, ...]:
    """What a binary needs to read: its directory (and its link target's).

    For a script (``#!``), the installation its interpreter belongs to as well: the
    directory above the interpreter's ``bin`` (a Python's stdlib, a venv's pyvenv.cfg).
    """
    dirs = {os.path.dirname(argv0), os.path.dirname(os.path.realpath(argv0))}
    try:
        with open(argv0, "rb") as file:
            head = file.read(256)
    except OSError:
        head = b""
    if head.startswith(b"#!"):
        words = head[2:].split(b"\n", 1)[0].split()
        interpreter = os.fsdecode(words[0]) if words else ""
        if os.path.basename(interpreter) == "env" and len(words) > 1:
            interpreter = shutil.which(os.fsdecode(words[1])) or ""
        for path in {interpreter, os.path.realpath(interpreter)} - {""}:
            dirs.add(os.path.dirname(os.path.dirname(path)))
    return tuple(sorted(dirs))


def plugin_dirs(names: Iterable[str], path: str) -> tuple[str, ...]:
    """What the exec plugins ``names`` need to read, as found on ``path``."""
    found: set[str] = set()
    for name in names:
        binary = shutil.which(name, path=path)
        if binary is not None:
            found.update(binary_dirs(os.path.abspath(binary)))
    return tuple(sorted(found))


def passed_paths(env: Mapping[str, str], names: Iterable[str]) -> tuple[str, ...]:
    """The files and directories the variables ``names`` of ``env`` name, for reading.

    The operator's CA bundles (SSL_CERT_FILE, SSL_CERT_DIR) and the variables it passes
    with --pass-env that hold absolute paths, e.g. a workload identity's token file
    (AWS_WEB_IDENTITY_TOKEN_FILE). Each child's rules are made when it starts, so a token
    the kubelet rotates (a new file behind the same path) is the one admitted.
    """
    found: list[str] = []
    for name in dict.fromkeys(("SSL_CERT_FILE", "SSL_CERT_DIR", *names)):
        for path in (env.get(name) or "").split(os.pathsep):
            if os.path.isabs(path):
                found.append(path)
    return tuple(found)


def loopback_ports(args: Iterable[str], policy: Policy) -> tuple[int, ...]:
    """TCP ports of loopback URLs in ``args`` that the policy admits.

    Go clients never send a loopback literal (127.0.0.1, ::1, localhost) through a proxy,
    so a chart repository on this host's loopback is reached directly: its port is opened
    to the child, on every host (Landlock's TCP rules are per port). Nothing else is.
    """
    ports: set[int] = set()
    # no DNS on the event loop: localhost is loopback to the CLIs (Go, /etc/hosts)
    pinned = replace(policy, resolver=lambda _name: ("127.0.0.1", "::1"))
    for arg in args:
        for match in _LOOPBACK_URL.finditer(arg):
            scheme, host, port = match.group(1).lower(), match.group(2), match.group(3)
            try:
                check_host(pinned, host.strip("[]"), field="url")
            except K8sMcpError:
                continue
            number = int(port) if port else (443 if scheme == "https" else 80)
            if 0 < number < 65536:
                ports.add(number)
    return tuple(sorted(ports))


def through_proxy(rendered: bytes, proxy_url: str, *, every_cluster: bool = False) -> bytes:
    """The child's kubeconfig, with ``proxy-url`` set where the proxy variables do not reach.

    Go clients take the proxy from ``HTTPS_PROXY``/``HTTP_PROXY`` (``proxy_env``) for every
    server but a loopback one (``localhost``, a loopback literal), which they never send
    through a proxy: only those clusters get ``proxy-url``. It is not set on the others
    because client-go cannot cache a transport whose proxy is a function: with it, kubectl
    built a new TLS configuration for every object it listed (bench/README.md, "Cost of
    confinement"). Either way every connection reaches the egress proxy or, if a client
    ignored both, nothing (Landlock admits no other port).

    Raises:
        KubeconfigError: a cluster already names a proxy (chaining is not supported).
    """
    data: dict[str, Any] = json.loads(rendered)
    clusters = []
    for index, entry in enumerate(data.get("clusters") or []):
        inner = dict(entry.get("cluster") or {})
        if inner.get("proxy-url"):
            raise KubeconfigError(
                f"clusters[{index}].cluster.proxy-url is not accepted while the CLIs are "
                "confined: every connection already goes through k8smcp's egress proxy; "
                "remove it"
            )
        if every_cluster or not _proxied_from_env(inner.get("server")):
            inner["proxy-url"] = proxy_url
        clusters.append(dict(entry, cluster=inner))
    data["clusters"] = clusters
    return json.dumps(data).encode()


def _proxied_from_env(server: object) -> bool:
    """Whether Go sends ``server`` through the proxy the environment names.

    Go's rule (x/net/http/httpproxy ``useProxy``): never for the host ``localhost`` or a
    loopback IP; here also never for what does not parse, so that gets ``proxy-url``.
    """
    if not isinstance(server, str):
        return False
    try:
        host = urlsplit(server).hostname
    except ValueError:
        return False
    if not host or host == "localhost":
        return False
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return True  # a name: Go proxies it, and the proxy resolves and checks it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # Go: ::ffff:127.0.0.1 is loopback
    return not ip.is_loopback


def proxy_env(proxy_url: str) -> dict[str, str]:
    """Variables that send every proxy-aware client in the child to the egress proxy."""
    env = {name: proxy_url for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")}
    env.update({"NO_PROXY": "", "no_proxy": ""})
    return env
