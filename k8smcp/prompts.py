"""Troubleshooting prompts: templates that tell a model which commands to run, in order.

Each prompt is a function of its arguments returning the text of one user message;
``PROMPTS`` describes each (arguments, the tools it uses) for the MCP server, which lists
the prompts whose tools are installed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass


def crashloop_pod(pod: str, namespace: str = "default") -> str:
    """Find out why a pod keeps restarting (CrashLoopBackOff)."""
    return f"""Pod {pod} in namespace {namespace} keeps restarting.
Find out why, using the kubectl tool:
1. `get pod {pod} -n {namespace} -o wide`: phase, restarts, node.
2. `describe pod {pod} -n {namespace}`: read Last State (exit code, reason such as OOMKilled)
   and the Events at the end (image pull errors, failed probes, mount errors).
3. `logs {pod} -n {namespace} --previous --tail=100`: the output of the crashed container
   (add `-c NAME` when the pod has several containers).
4. `get events -n {namespace} --field-selector involvedObject.name={pod}`.
Explain the cause in one paragraph, then the fix (resources, probe, config, image), and
say which evidence shows it."""


def stuck_rollout(deployment: str, namespace: str = "default") -> str:
    """Find out why a Deployment does not finish rolling out."""
    return f"""Deployment {deployment} in namespace {namespace} does not finish rolling out.
Use the kubectl tool:
1. `rollout status deployment/{deployment} -n {namespace} --timeout=10s`.
2. `get deployment {deployment} -n {namespace} -o yaml`: compare spec.replicas with
   status.updatedReplicas / availableReplicas and read status.conditions
   (ProgressDeadlineExceeded, ReplicaFailure).
3. `get rs -n {namespace} -l <the deployment's selector>` and describe the newest ReplicaSet:
   quota or admission errors show up in its events.
4. `get pods -n {namespace} -l <selector>`; describe the Pending or failing ones
   (Insufficient cpu, unschedulable taints, image pull, readiness probe failures).
Say what blocks the rollout and how to fix it; mention `rollout undo` if going back is safer."""


def failed_helm_release(release: str, namespace: str = "default") -> str:
    """Find out why a Helm release failed and how to recover it."""
    return f"""Helm release {release} in namespace {namespace} failed.
Use the helm tool, then kubectl:
1. helm: `status {release} -n {namespace}` and `history {release} -n {namespace}`: which
   revision failed, with which description.
2. helm: `get values {release} -n {namespace}` and `get manifest {release} -n {namespace}`:
   what was asked for.
3. kubectl: `get events -n {namespace} --sort-by=.lastTimestamp` and describe the objects of
   the manifest that are not ready (pods, jobs of hooks).
Explain the failure, then propose either a fixed `upgrade` (with the values to change) or
`rollback {release} <last good revision> -n {namespace}`."""


def istio_config_problem(namespace: str = "default") -> str:
    """Find Istio configuration problems in a namespace."""
    return f"""Traffic in namespace {namespace} does not behave as the Istio configuration says.
Use the istioctl tool, then kubectl:
1. istioctl: `analyze -n {namespace}`: every finding with its code (IST0101 missing
   reference, IST0106 schema, ...).
2. kubectl: `get virtualservices,destinationrules,gateways -n {namespace} -o yaml` for the
   objects the findings name.
3. istioctl: `proxy-status` to see whether sidecars are in sync.
List each problem with the object and field to change, most severe first."""


def argocd_out_of_sync(app: str) -> str:
    """Find out why an Argo CD application is out of sync or degraded."""
    return f"""Argo CD application {app} is OutOfSync or Degraded. Use the argocd tool with --core:
1. `app get {app} --core`: sync status, health, and the resources that differ.
2. `app diff {app} --core`: what differs between git and the cluster.
3. `app history {app} --core`: when it last synced, from which revision.
Then use kubectl to describe the unhealthy resources the app lists.
Explain what is out of sync and why (manual change in the cluster, failing hook, invalid
manifest) and whether a sync, a fix in git, or an ignoreDifferences entry is right."""


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """One prompt: its template, what each argument means, the tools it has the model use."""

    name: str
    title: str
    render: Callable[..., str]
    arguments: dict[str, str]  # name -> description, in the template's order
    tools: tuple[str, ...]

    @property
    def description(self) -> str:
        """The first line of the template's docstring."""
        return (self.render.__doc__ or self.title).strip().splitlines()[0]

    @property
    def required(self) -> tuple[str, ...]:
        """The arguments without a default."""
        params = inspect.signature(self.render).parameters.values()
        return tuple(p.name for p in params if p.default is inspect.Parameter.empty)


_NAMESPACE = "Namespace to look in (default: default)"

PROMPTS: tuple[PromptSpec, ...] = (
    PromptSpec(
        "debug_crashloop_pod",
        "Debug a crash-looping pod",
        crashloop_pod,
        {"pod": "Name of the pod that keeps restarting", "namespace": _NAMESPACE},
        ("kubectl",),
    ),
    PromptSpec(
        "debug_stuck_rollout",
        "Debug a Deployment that does not roll out",
        stuck_rollout,
        {"deployment": "Name of the Deployment", "namespace": _NAMESPACE},
        ("kubectl",),
    ),
    PromptSpec(
        "debug_failed_helm_release",
        "Debug a failed Helm release",
        failed_helm_release,
        {"release": "Name of the Helm release", "namespace": _NAMESPACE},
        ("helm", "kubectl"),
    ),
    PromptSpec(
        "debug_istio_config",
        "Find Istio configuration problems",
        istio_config_problem,
        {"namespace": _NAMESPACE},
        ("istioctl", "kubectl"),
    ),
    PromptSpec(
        "debug_argocd_app",
        "Debug an Argo CD app out of sync",
        argocd_out_of_sync,
        {"app": "Name of the Argo CD application"},
        ("argocd", "kubectl"),
    ),
)
