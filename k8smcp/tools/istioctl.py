"""istioctl: the Istio service mesh command-line tool."""

from __future__ import annotations

from k8smcp.policy.tools import istioctl as policy
from k8smcp.tools.spec import ToolSpec

SPEC = ToolSpec(
    name="istioctl",
    title="istioctl",
    description="""Run an istioctl command against the Kubernetes cluster of the kubeconfig.

`command` holds the arguments after `istioctl`, split as a POSIX shell would split them
but never run by a shell. Examples:
  analyze -n default
  proxy-status
  version --remote=false
`analyze` finds Istio configuration problems in a namespace (or all with -A).""",
    example="analyze -n default",
    version_args=("version", "--remote=false", "--short"),
    install_hint="Install istioctl (https://istio.io/latest/docs/setup/getting-started/).",
    grammar=policy.GRAMMAR,
    rules=policy.RULES,
    checks=(policy.analyze_files,),
)
