"""A namespace seeded like a busy one, big enough to overflow an MCP answer budget.

Used by tests/integration/test_output.py and bench/parts/tokens.py (``fresh_namespace``
also by the ``namespace`` fixture). In the namespace:

- Deployment ``web`` (``WEB_REPLICAS`` pods on the testbed's kwok node) and Deployment
  ``api`` (``API_REPLICAS`` pods spread over ``NODES`` extra kwok nodes labelled
  ``k8smcp.test/seed=<namespace>``): a listing of a few hundred lines, and as many
  Scheduled/SuccessfulCreate events;
- ``CRASHING`` pods bound to a node nobody runs (``<namespace>-gone``), whose status
  says CrashLoopBackOff (kwok does not simulate crashes; the status is what kubectl and
  a model read);
- pod ``stuck``, Pending: its nodeSelector matches no node (a real FailedScheduling);
- Secret ``db`` (``SECRET_VALUE``);
- helm release ``shop`` of a ``helm create`` chart with ``VALUE_KEYS`` values.

The nodes are cluster-wide (labelled ``k8smcp.test/seeded=<namespace>``): ``unseed``
deletes them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests import testbed
from tests.testbed import Cluster

WEB_REPLICAS = 60
API_REPLICAS = 60
NODES = 3
CRASHING = ("worker-0", "worker-1", "worker-2")
SECRET_VALUE = "hunter2-seeded-secret-value"
VALUE_KEYS = 800
KWOK_TOLERATION = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}


@contextlib.contextmanager
def fresh_namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh labelled namespace, deleted (without waiting) afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(cluster, name)
    cluster.kubectl("label", "namespace", name, "k8smcp.test/namespace=true")
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def create_namespace(cluster: Cluster, name: str) -> None:
    """Create namespace ``name`` and wait until pods can be admitted there."""
    cluster.kubectl("create", "namespace", name)
    # Pods are admitted only once the controller manager made the default ServiceAccount.
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode:
        if time.monotonic() > deadline:
            raise AssertionError(f"no default ServiceAccount in namespace {name} after 30s")
        time.sleep(0.1)


def node_names(namespace: str) -> list[str]:
    return [f"{namespace}-node-{i}" for i in range(NODES)]


def _deployment(name: str, replicas: int, selector: dict[str, str], image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "backend"}},
                "spec": {
                    "nodeSelector": selector,
                    "tolerations": [KWOK_TOLERATION],
                    "containers": [{"name": name, "image": image}],
                },
            },
        },
    }


def _pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "worker"}},
        "spec": {"containers": [{"name": "worker", "image": "registry.example/worker:3"}], **spec},
    }


def seed(cluster: Cluster, namespace: str) -> None:
    """Create everything above in ``namespace`` (which exists) and wait until it settles."""
    label = f"k8smcp.test/seed={namespace}"
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"k8smcp.test/seed": namespace, "k8smcp.test/seeded": namespace},
                "annotations": {"kwok.x-k8s.io/node": "fake"},
            },
        }
        for name in node_names(namespace)
    ]
    # The crash-looping pods' node: a Node object nobody runs (not kwok's), so nothing
    # rewrites their status; without the object the pod GC would delete them as orphans.
    nodes.append(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"{namespace}-gone", "labels": {"k8smcp.test/seeded": namespace}},
        }
    )
    docs = [
        *nodes,
        _deployment("web", WEB_REPLICAS, {"type": "kwok"}, "registry.example/web:1.4.2"),
        _deployment(
            "api", API_REPLICAS, {"k8smcp.test/seed": namespace}, "registry.example/api:2.0.1"
        ),
        *(
            # tolerating every taint: the unreachable node's NoExecute taint evicts nothing
            _pod(name, {"nodeName": f"{namespace}-gone", "tolerations": [{"operator": "Exists"}]})
            for name in CRASHING
        ),
        _pod("stuck", {"nodeSelector": {"disktype": "ssd-that-no-node-has"}}),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": SECRET_VALUE, "user": "shop"},
        },
    ]
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs), timeout=120
    )
    for name in CRASHING:  # what a kubelet would report for a container that keeps dying
        status = {
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "worker",
                        "image": "registry.example/worker:3",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 7,
                        "started": False,
                        "state": {
                            "waiting": {
                                "reason": "CrashLoopBackOff",
                                "message": "back-off 5m0s restarting failed container",
                            }
                        },
                    }
                ],
            }
        }
        cluster.kubectl(
            "patch", "pod", name, "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps(status),
        )  # fmt: skip
    _install_release(cluster, namespace)
    _wait(cluster, namespace, label)


def _install_release(cluster: Cluster, namespace: str) -> None:
    helm = str(testbed.binary("helm"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            "HOME": tmp,
            "PATH": "/usr/bin:/bin",
            "KUBECONFIG": str(cluster.admin_kubeconfig),
        }
        subprocess.run([helm, "create", "shop"], cwd=root, env=env, check=True, capture_output=True)
        values = {
            "replicaCount": 1,
            "image": {"repository": "registry.example/shop", "tag": "5.1.0"},
            "nodeSelector": {"type": "kwok"},
            "tolerations": [KWOK_TOLERATION],
            "settings": {
                f"feature_{i:04d}": {"enabled": i % 3 == 0, "owner": f"team-{i % 17}"}
                for i in range(VALUE_KEYS)
            },
        }
        (root / "values.yaml").write_text(yaml.safe_dump(values))
        subprocess.run(
            [helm, "install", "shop", str(root / "shop"), "-n", namespace,
             "-f", str(root / "values.yaml")],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def _wait(cluster: Cluster, namespace: str, label: str, timeout: float = 180) -> None:
    """Until every pod that can run is Running and the pending one was found unschedulable."""
    deadline = time.monotonic() + timeout
    want = WEB_REPLICAS + API_REPLICAS + 1  # and shop's one pod
    while True:
        pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
        running = sum(
            1
            for p in pods["items"]
            if p["status"].get("phase") == "Running"
            and p["metadata"]["labels"].get("app") != "worker"
        )
        events = cluster.kubectl(
            "get", "events", "-n", namespace, "--field-selector", "reason=FailedScheduling",
            "-o", "name",
        ).stdout  # fmt: skip
        if running >= want and events.strip():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"seeded namespace not ready: {running}/{want} pods Running")
        time.sleep(2)


def unseed(cluster: Cluster, namespace: str) -> None:
    """Delete the cluster-wide nodes (the namespace goes with the namespace fixture)."""
    cluster.kubectl(
        "delete", "nodes", "-l", f"k8smcp.test/seeded={namespace}", "--wait=false", check=False
    )
