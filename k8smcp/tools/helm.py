"""helm: the Kubernetes package manager."""

from __future__ import annotations

from pathlib import Path

from k8smcp.policy.tools import helm as policy
from k8smcp.tools.spec import ToolSpec


def _env(home: Path) -> dict[str, str]:
    return {
        "HELM_CACHE_HOME": str(home / ".cache" / "helm"),
        "HELM_CONFIG_HOME": str(home / ".config" / "helm"),
        "HELM_DATA_HOME": str(home / ".local" / "share" / "helm"),
    }


SPEC = ToolSpec(
    name="helm",
    title="helm",
    description="""Run a helm command against the Kubernetes cluster of the kubeconfig.

`command` holds the arguments after `helm`, split as a POSIX shell would split them but
never run by a shell. Examples:
  list -A
  status my-release -n apps
  install web mychart --repo https://charts.example.com --version 1.2.3 -n apps --wait
Every call starts from an empty helm home: a `repo add` does not persist between calls,
so name the chart repository with `--repo URL` in the same command. Values come inline
with `--set key=value` or through `stdin` with `-f -`.""",
    example="list -A",
    version_args=("version", "--short"),
    install_hint="Install helm v4 (https://helm.sh/docs/intro/install/).",
    env=_env,
    grammar=policy.GRAMMAR,
    rules=policy.RULES,
    server_checks=(policy.registry_login, policy.dependency_update),
    checks=(policy.chart_arguments,),
    secret_output=policy.secret_output,
    expects_secrets=policy.expects_secrets,
)
