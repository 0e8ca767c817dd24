"""Start and stop testbed clusters: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (one simulated node), all on loopback, per cluster."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests import testbed
from tests.testbed import pki

KWOK_NODE = "kwok-node-0"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
VIEWER = "viewer"
SERVICE_CIDR = "10.96.0.0/16"
START_TIMEOUT = 90.0
LOG_LINES = 3


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (sockets held open until all are chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def _kubeconfig(name: str, server: str, ca_pem: bytes, user: dict[str, Any], namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": f"testbed-{name}",
                    "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)},
                }
            ],
            "users": [{"name": f"{user['_name']}-{name}", "user": user["user"]}],
            "contexts": [
                {
                    "name": f"testbed-{name}",
                    "context": {
                        "cluster": f"testbed-{name}",
                        "user": f"{user['_name']}-{name}",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": f"testbed-{name}",
            "preferences": {},
        },
        sort_keys=False,
    )


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class TestbedError(RuntimeError):
    __test__ = False


@dataclass
class Cluster:
    """One running testbed cluster.

    Attributes are plain data, safe to read from any thread:

    - ``name``: ``"a"`` or ``"b"``
    - ``server``: ``https://127.0.0.1:PORT``
    - ``marker_namespace``: ``cluster-a`` / ``cluster-b``, exists only on this cluster
    - ``admin_kubeconfig`` / ``admin_kubeconfig_b64``: client-cert user in system:masters
    - ``viewer_kubeconfig`` / ``viewer_kubeconfig_b64``: token of ServiceAccount
      ``viewer`` in the marker namespace, bound to ClusterRole ``view`` there only
    - ``node``: the kwok node's name (``kwok-node-0``)
    - ``workdir``: the temp dir holding data, logs and the kubeconfig files

    The kubeconfigs are self-contained (inline CA, client cert/key or token).
    """

    name: str
    workdir: Path
    server: str = ""
    marker_namespace: str = ""
    admin_kubeconfig: Path = Path()
    admin_kubeconfig_b64: str = ""
    viewer_kubeconfig: Path = Path()
    viewer_kubeconfig_b64: str = ""
    node: str = KWOK_NODE
    ca_pem: bytes = b""
    _procs: list[_Proc] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ports: dict[str, int] = field(default_factory=dict, repr=False)
    _ssl: ssl.SSLContext | None = field(default=None, repr=False)

    # -- public helpers -------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        viewer: bool = False,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the venv's kubectl against this cluster (admin unless ``viewer``).

        Raises ``TestbedError`` with kubectl's stderr when ``check`` and it fails.
        """
        kubeconfig = self.viewer_kubeconfig if viewer else self.admin_kubeconfig
        cmd = [str(testbed.kubectl_path()), "--kubeconfig", str(kubeconfig), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        proc = subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and proc.returncode != 0:
            raise TestbedError(
                f"kubectl {' '.join(args)} on cluster {self.name} failed "
                f"({proc.returncode}): {proc.stderr.strip()}"
            )
        return proc

    def kubeconfig_b64(self, *, namespace: str | None = None, viewer: bool = False) -> str:
        """The admin (or viewer) kubeconfig as base64, its context namespace replaced.

        For tools that read the namespace from the kubeconfig, e.g. ``argocd --core``.
        """
        path = self.viewer_kubeconfig if viewer else self.admin_kubeconfig
        config = yaml.safe_load(path.read_text())
        if namespace is not None:
            config["contexts"][0]["context"]["namespace"] = namespace
        return _b64(yaml.safe_dump(config, sort_keys=False))

    def install_argocd(self, namespace: str = "argocd") -> None:
        """Install Argo CD's core-install.yaml (CRDs, config maps, RBAC and its
        workloads, which run as kwok pods) into ``namespace``; idempotent.

        ``argocd ... --core`` then works with a kubeconfig whose context namespace is
        ``namespace`` (see ``kubeconfig_b64(namespace=...)``).
        """
        manifest = testbed.share_dir() / "argocd" / "core-install.yaml"
        self.kubectl("create", "namespace", namespace, check=False)
        self.kubectl("apply", "--server-side", "-n", namespace, "-f", str(manifest))

        # `kubectl wait --for=condition=Established` fails at once ("accessor error: <nil>")
        # when it reads a CRD before the apiserver has set any condition (seen under load),
        # so ask for the condition until it holds, then until the resource lists
        # (Established is not yet served everywhere).
        def established() -> bool:
            get = ("get", "crd", "applications.argoproj.io", "appprojects.argoproj.io")
            jsonpath = '-o=jsonpath={.items[*].status.conditions[?(@.type=="Established")].status}'
            done = self.kubectl(*get, jsonpath, check=False)
            return done.returncode == 0 and done.stdout.split() == ["True", "True"]

        def served() -> bool:
            get = ("get", "applications.argoproj.io", "-n", namespace)
            return self.kubectl(*get, check=False).returncode == 0

        self._wait("Argo CD's CRDs to be established", established, timeout=60)
        self._wait("Argo CD's Application resource", served, timeout=30)

    def stop_apiserver(self) -> None:
        """Stop only this cluster's kube-apiserver (for failure tests)."""
        _kill([p.popen for p in self._procs if p.name == "kube-apiserver"])

    def pids(self) -> list[int]:
        """The pids of every process started for this cluster."""
        return [p.popen.pid for p in self._procs]

    def log(self, component: str) -> str:
        """The log of one component (etcd, kube-apiserver, ..., kwok)."""
        return (self.workdir / "logs" / f"{component}.log").read_text(errors="replace")

    # -- lifecycle ------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.workdir / "logs" / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(testbed.binary(name)), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.workdir,
            )
        with self._lock:
            self._procs.append(_Proc(name, popen, log))

    def _check_alive(self) -> None:
        for p in self._procs:
            if p.popen.poll() is not None:
                tail = "\n".join(p.log.read_text(errors="replace").splitlines()[-30:])
                raise TestbedError(
                    f"cluster {self.name}: {p.name} exited with {p.popen.returncode}:\n{tail}"
                )

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if ready():
                return
            if time.monotonic() > deadline:
                raise TestbedError(f"cluster {self.name}: timed out waiting for {what}")
            time.sleep(0.2)

    def _readyz(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"{self.server}/readyz", context=self._ssl, timeout=2
            ) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _start(self) -> None:
        w = self.workdir
        (w / "logs").mkdir()
        (w / "pki").mkdir()
        ports = self._ports
        self.marker_namespace = f"cluster-{self.name}"
        self.server = f"https://127.0.0.1:{ports['apiserver']}"

        # PKI: a CA for the run, the serving cert, an admin client cert, an SA key.
        ca = pki.CertificateAuthority(f"k8smcp-testbed-{self.name}-ca")
        self.ca_pem = ca.cert_pem
        d = w / "pki"
        ca_crt, ca_key = ca.pair.write(d, "ca")
        serving = ca.issue(
            "kube-apiserver",
            dns_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ip_addresses=("127.0.0.1", "10.96.0.1"),
            server=True,
        )
        srv_crt, srv_key = serving.write(d, "apiserver")
        admin = ca.issue("k8smcp-admin", organizations=("system:masters",), client=True)
        adm_crt, adm_key = admin.write(d, "admin")
        kwok_srv = ca.issue("kwok", ip_addresses=("127.0.0.1",), server=True)
        kwok_crt, kwok_key = kwok_srv.write(d, "kwok")
        sa_priv, sa_pub = pki.service_account_key()
        (d / "sa.key").write_bytes(sa_priv)
        (d / "sa.pub").write_bytes(sa_pub)

        ctx = ssl.create_default_context(cadata=ca.cert_pem.decode())
        ctx.load_cert_chain(adm_crt, adm_key)
        self._ssl = ctx

        admin_kc = _kubeconfig(
            self.name,
            self.server,
            ca.cert_pem,
            {
                "_name": "admin",
                "user": {
                    "client-certificate-data": _b64(admin.cert_pem),
                    "client-key-data": _b64(admin.key_pem),
                },
            },
            "default",
        )
        self.admin_kubeconfig = w / "admin.kubeconfig"
        self.admin_kubeconfig.write_text(admin_kc)
        self.admin_kubeconfig.chmod(0o600)
        self.admin_kubeconfig_b64 = _b64(admin_kc)

        etcd_data = w / "etcd"
        self._spawn(
            "etcd",
            [
                f"--name=testbed-{self.name}",
                f"--data-dir={etcd_data}",
                f"--listen-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--advertise-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--listen-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
                f"--initial-cluster=testbed-{self.name}=http://127.0.0.1:{ports['etcd_peer']}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # loopback advertise addresses are refused by the endpoint reconciler
                "--endpoint-reconciler-type=none",
                f"--secure-port={ports['apiserver']}",
                f"--cert-dir={w / 'pki'}",
                f"--tls-cert-file={srv_crt}",
                f"--tls-private-key-file={srv_key}",
                f"--client-ca-file={ca_crt}",
                "--authorization-mode=RBAC",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                f"--kubelet-client-certificate={adm_crt}",
                f"--kubelet-client-key={adm_key}",
                "--kubelet-preferred-address-types=InternalIP",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=0",
            ],
        )
        self._wait("kube-apiserver /readyz", self._readyz)

        # The rest talk to the API server with the admin kubeconfig.
        kc = str(self.admin_kubeconfig)
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={kc}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={d / 'sa.key'}",
                f"--root-ca-file={ca_crt}",
                f"--cluster-signing-cert-file={ca_crt}",
                f"--cluster-signing-key-file={ca_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--profiling=false",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [f"--kubeconfig={kc}", "--leader-elect=false", "--secure-port=0", "--profiling=false"],
        )
        logs_file = w / "kwok-container.log"
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        logs_file.write_text(
            "".join(
                f"{now} stdout F k8smcp testbed cluster {self.name}: log line {i}\n"
                for i in range(1, LOG_LINES + 1)
            )
        )
        kwok_conf = w / "kwok-logs.yaml"
        kwok_conf.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kwok.x-k8s.io/v1alpha1",
                    "kind": "ClusterLogs",
                    "metadata": {"name": "all-containers"},
                    "spec": {"selector": {}, "logs": [{"logsFile": str(logs_file)}]},
                }
            )
        )
        self._spawn(
            "kwok",
            [
                f"--kubeconfig={kc}",
                f"--config={testbed.HERE / 'kwok-stages.yaml'}",
                f"--config={kwok_conf}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                "--node-ip=127.0.0.1",
                f"--node-port={ports['kwok']}",
                f"--server-address=127.0.0.1:{ports['kwok']}",
                f"--tls-cert-file={kwok_crt}",
                f"--tls-private-key-file={kwok_key}",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
            ],
        )

        self.kubectl("apply", "-f", "-", input=_bootstrap_manifest(self.marker_namespace))
        token = self.kubectl(
            "create", "token", VIEWER, "-n", self.marker_namespace, "--duration=48h"
        ).stdout.strip()
        viewer_kc = _kubeconfig(
            self.name,
            self.server,
            ca.cert_pem,
            {"_name": VIEWER, "user": {"token": token}},
            self.marker_namespace,
        )
        self.viewer_kubeconfig = w / "viewer.kubeconfig"
        self.viewer_kubeconfig.write_text(viewer_kc)
        self.viewer_kubeconfig.chmod(0o600)
        self.viewer_kubeconfig_b64 = _b64(viewer_kc)

        # Ready when the node is Ready (kwok) and service accounts exist (the
        # controller manager), so that Pods in the marker namespace can be created.
        self.kubectl("wait", "--for=condition=Ready", f"node/{KWOK_NODE}", "--timeout=60s")

        def has_default_sa() -> bool:
            get = ("get", "serviceaccount", "default", "-n", self.marker_namespace)
            return self.kubectl(*get, check=False).returncode == 0

        self._wait("the default ServiceAccount", has_default_sa)

    def stop(self) -> None:
        """Stop every process of this cluster (by process group) and remove its dir."""
        with self._lock:
            procs, self._procs = list(self._procs), []
        _kill([p.popen for p in reversed(procs)])
        if not testbed.KEEP_WORKDIRS:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _kill(popens: list[subprocess.Popen[bytes]], grace: float = 1.0) -> None:
    """SIGTERM the process groups of ``popens``, SIGKILL them after ``grace`` seconds.

    Every process is started with ``start_new_session=True``, so its pid is also its
    process group id; killing the group also gets any children it forked.
    """
    for p in popens:
        if p.poll() is None:
            _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in popens:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in popens:
        # Also after the leader exited: nothing of the group may survive.
        _signal_group(p.pid, signal.SIGKILL)
        p.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _bootstrap_manifest(namespace: str) -> str:
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": VIEWER, "namespace": namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{VIEWER}-view", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": VIEWER, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": KWOK_NODE,
                "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": KWOK_NODE,
                    "kubernetes.io/role": "agent",
                    "node-role.kubernetes.io/agent": "",
                    "type": "kwok",
                },
            },
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        },
    ]
    return "".join("---\n" + json.dumps(d) + "\n" for d in docs)


class Testbed:
    """Two running clusters, ``a`` and ``b``. Use as a context manager or call stop()."""

    __test__ = False

    def __init__(self, a: Cluster, b: Cluster, root: Path) -> None:
        self.a = a
        self.b = b
        self.root = root
        self.clusters = (a, b)

    def __enter__(self) -> Testbed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        return [pid for c in self.clusters for pid in c.pids()]

    def stop(self) -> None:
        """Stop both clusters (in parallel) and remove the testbed's temp dir."""
        with concurrent.futures.ThreadPoolExecutor(len(self.clusters)) as pool:
            for f in [pool.submit(c.stop) for c in self.clusters]:
                f.result()
        if not testbed.KEEP_WORKDIRS:
            shutil.rmtree(self.root, ignore_errors=True)


def start_testbed(names: tuple[str, str] = ("a", "b")) -> Testbed:
    """Start clusters A and B in parallel; returns when both are ready.

    Raises ``TestbedUnavailable`` if binaries are missing, ``TestbedError`` if a
    cluster fails to start (with the failing component's log tail); on failure
    everything started is stopped again.
    """
    missing = testbed.missing_binaries()
    if missing:
        raise testbed.TestbedUnavailable(
            f"testbed binaries missing in {testbed.bin_dir()}: {', '.join(missing)}; "
            "run tests/testbed/build"
        )
    testbed.kubectl_path()
    for attempt in range(3):
        try:
            return _start_once(names)
        except TestbedError as e:
            # Free ports are picked before the servers bind them; another process
            # may take one in between. Rare: then start again on new ports.
            if "address already in use" not in str(e) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_once(names: tuple[str, str]) -> Testbed:
    root = Path(tempfile.mkdtemp(prefix="k8smcp-testbed-"))
    ports = iter(_free_ports(4 * len(names)))
    clusters = []
    for n in names:
        wd = root / n
        wd.mkdir()
        c = Cluster(name=n, workdir=wd)
        c._ports = {k: next(ports) for k in ("etcd", "etcd_peer", "apiserver", "kwok")}
        clusters.append(c)
    tb = Testbed(clusters[0], clusters[1], root)
    try:
        with concurrent.futures.ThreadPoolExecutor(len(clusters)) as pool:
            for f in [pool.submit(c._start) for c in clusters]:
                f.result()
    except BaseException:
        tb.stop()
        raise
    return tb
