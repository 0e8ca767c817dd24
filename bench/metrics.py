"""Counts the requests an API server received, from its own apiserver_request_total.

The scrape goes straight to /metrics with the admin client certificate (one HTTPS GET,
no kubectl, no discovery); a scrape is not counted in apiserver_request_total itself,
and `scrape_cost()` checks that.
"""

from __future__ import annotations

import base64
import re
import ssl
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import yaml

_LINE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')

# The control plane's own background traffic, left out of the counts.
_BACKGROUND_RESOURCES = {"leases", "events"}
_BACKGROUND_PATHS = {"/healthz", "/readyz", "/livez"}


def _key(labels: dict[str, str]) -> str | None:
    """A short name for one series (``GET /api``, ``LIST namespaces``), None if background."""
    verb = labels.get("verb", "")
    resource = labels.get("resource", "")
    sub = labels.get("subresource", "")
    if verb == "WATCH" or resource in _BACKGROUND_RESOURCES or sub in _BACKGROUND_PATHS:
        return None
    if resource == "nodes" and verb in ("PATCH", "APPLY"):
        return None
    if labels.get("group") == "flowcontrol.apiserver.k8s.io":
        return None
    if not resource:
        return f"{verb} /{sub.lstrip('/')}"
    return f"{verb} {resource}{'/' + sub if sub else ''}"


class Scraper:
    """GET /metrics of one API server with the kubeconfig's client certificate."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.server = cluster["server"]
        self._dir = tempfile.TemporaryDirectory(prefix="k8smcp-bench-metrics-")
        cert = Path(self._dir.name) / "cert.pem"
        key = Path(self._dir.name) / "key.pem"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        key.chmod(0o600)
        context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        context.load_cert_chain(cert, key)
        self.http = httpx.Client(verify=context, timeout=30)

    def counts(self) -> Counter[str]:
        """Requests so far by series (background left out)."""
        text = self.http.get(f"{self.server}/metrics").raise_for_status().text
        out: Counter[str] = Counter()
        for match in _LINE.finditer(text):
            key = _key(dict(_LABEL.findall(match["labels"])))
            if key is not None:
                out[key] += int(float(match["value"]))
        return out

    def close(self) -> None:
        self.http.close()
        self._dir.cleanup()
