"""argocd: the Argo CD command-line tool, in core mode against the cluster's API."""

from __future__ import annotations

from pathlib import Path

from k8smcp.policy.tools import argocd as policy
from k8smcp.tools.spec import ToolSpec


def _env(home: Path) -> dict[str, str]:
    return {"ARGOCD_CONFIG_DIR": str(home / ".config" / "argocd")}


SPEC = ToolSpec(
    name="argocd",
    title="argocd",
    description="""Run an argocd command against the Kubernetes cluster of the kubeconfig.

`command` holds the arguments after `argocd`, split as a POSIX shell would split them but
never run by a shell. Use `--core` so argocd talks to the Kubernetes API with the
kubeconfig instead of logging in to an Argo CD server. Examples:
  app list --core
  app get my-app --core
  app diff my-app --core
The namespace Argo CD runs in is the kubeconfig context's namespace: set `namespace`.""",
    example="app list --core",
    version_args=("version", "--client", "--short"),
    install_hint="Install the argocd CLI (https://argo-cd.readthedocs.io/en/stable/cli_installation/).",
    env=_env,
    grammar=policy.GRAMMAR,
    rules=policy.RULES,
    server_checks=(policy.core_mode,),
    checks=(policy.appset_files,),
    expects_secrets=policy.expects_secrets,
    # --core starts an API server (and miniredis) on random loopback ports and dials them
    confine_tcp=False,
)
