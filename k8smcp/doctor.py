"""``k8smcp doctor``: is everything here that k8smcp needs, and is the server reachable?

Each check is a Check (name, status, detail). ``fail`` means k8smcp cannot do its main
job (no kubectl, an unusable kubeconfig, an unreachable server); ``warn`` means a part
of it is missing (helm not installed, a kubeconfig a server would refuse). The kubeconfig
is judged as ``k8smcp call`` would send it (``credentials.self_contained``), without
running its exec plugin.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from k8smcp import credentials
from k8smcp import kubeconfig as kc
from k8smcp.config import Settings
from k8smcp.errors import K8sMcpError

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str


async def check_tools(settings: Settings) -> list[Check]:
    """Each CLI: found, where, which version. kubectl is required, the others optional."""
    from k8smcp.service import Service

    checks = []
    for status in await Service(settings, one_shot=True).catalog():
        if status.available and status.version:
            where = f"{status.path} (from {status.source})"
            checks.append(Check(status.tool, "ok", f"{status.version} at {where}"))
        else:
            level: Status = "fail" if status.tool == "kubectl" else "warn"
            checks.append(Check(status.tool, level, status.detail or "not working"))
    return checks


def check_local_kubeconfig(
    *, b64: str | None = None, path: Path | None = None, context: str | None = None
) -> list[Check]:
    """The local kubeconfig: valid? which context and server? would a server accept it?"""
    from k8smcp.config import find_local_kubeconfig
    from k8smcp.policy import Policy
    from k8smcp.policy import check_kubeconfig as policy_check

    try:
        found = find_local_kubeconfig(b64=b64, path=path, context=context)
    except K8sMcpError as exc:
        return [Check("kubeconfig", "fail", exc.message)]
    if found is None:
        return [
            Check("kubeconfig", "warn", "none found (--kubeconfig, $KUBECONFIG, ~/.kube/config)")
        ]
    checks = [Check("kubeconfig", "ok", f"context {found.context!r}, server {found.server}")]
    plugin = credentials.exec_spec(found)
    if plugin is not None:
        checks.append(_check_plugin(plugin))
    try:  # sent as it is, by an MCP client or over REST
        policy_check(Policy.server(), found.data)
    except K8sMcpError as exc:
        checks.append(
            Check("server policy", "warn", f"a k8smcp server would refuse it: {exc.message}")
        )
    else:
        checks.append(
            Check("server policy", "ok", "a k8smcp server at default settings accepts it")
        )
    return [*checks, _check_call(found, plugin is not None)]


def _check_call(found: kc.Kubeconfig, has_plugin: bool) -> Check:
    """What `k8smcp call` sends: the plugin is not run here, a stand-in takes its place."""
    from k8smcp.policy import Policy
    from k8smcp.policy import check_kubeconfig as policy_check

    try:
        sent = credentials.self_contained(found, cache=None, run_plugin=_stand_in)
        policy_check(Policy.server(), sent.data)
    except K8sMcpError as exc:
        return Check("call", "warn", f"a k8smcp server would refuse what call sends: {exc.message}")
    what = f"context {found.context!r} only, files inline"
    what += ", the plugin's credential in place of the plugin" if has_plugin else ""
    return Check("call", "ok", f"k8smcp call sends {what}: a server at default settings accepts it")


def _check_plugin(spec: dict[str, Any]) -> Check:
    command = str(spec.get("command") or "")
    where = shutil.which(command) if command else None
    if where is None:
        hint = str(spec.get("installHint") or "").strip()
        return Check(
            "exec plugin",
            "warn",
            f"{command!r} is not installed here; k8smcp call and run need it"
            + (f": {hint}" if hint else ""),
        )
    return Check(
        "exec plugin",
        "ok",
        f"{command!r} ({where}) runs here for k8smcp call, which sends only the token or "
        "certificate it returns; k8smcp run runs it through kubectl",
    )


def _stand_in(
    spec: dict[str, Any], cluster: dict[str, Any] | None, interactive: bool
) -> dict[str, Any]:
    return {"token": "stand-in"}


async def check_server(url: str, token: str | None) -> list[Check]:
    """The server behind ``url`` (its MCP endpoint): /health, then its tools over MCP."""
    import httpx

    from k8smcp import client

    base = url.rstrip("/").removesuffix("/mcp")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"{base}/health")
        health = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        return [Check("server", "fail", f"{base}/health: {type(exc).__name__}: {exc}")]
    if health is None:
        return [Check("server", "fail", f"{base}/health answered HTTP {response.status_code}")]
    checks = [Check("server", "ok", f"{base} is up, k8smcp {health.get('version', '?')}")]
    try:
        tools = await client.list_tools(url, token=token)
    except K8sMcpError as exc:
        checks.append(Check("server tools", "fail", exc.message))
    else:
        checks.append(Check("server tools", "ok", ", ".join(t["name"] for t in tools)))
    return checks
