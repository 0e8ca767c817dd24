"""kubectl 1.37: commands and flags (from its --help and options), server refusals, hooks.

The hooks of its special cases (``config view --raw``, Secrets printed as text).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import yaml

from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words
from k8smcp.policy.hooks import Command, Context, Refusal
from k8smcp.policy.parse import Parsed

try:  # libyaml is ~10x faster; PyYAML without it works the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

GRAMMAR = Grammar(
    tool="kubectl",
    commands=tree(
        """
        create(clusterrole clusterrolebinding configmap cronjob deployment ingress job
               namespace poddisruptionbudget priorityclass quota role rolebinding
               secret(docker-registry generic tls)
               service(clusterip externalname loadbalancer nodeport) serviceaccount token)
        expose run set(env image resources selector serviceaccount subject) explain get edit
        delete rollout(history pause restart resume status undo) scale autoscale
        certificate(approve deny) cluster-info(dump) top(node pod) cordon uncordon drain
        taint describe logs attach exec port-forward proxy cp auth(can-i reconcile whoami)
        debug events diff apply(edit-last-applied set-last-applied view-last-applied) patch
        replace wait kustomize label annotate completion api-resources api-versions
        config(current-context delete-cluster delete-context delete-user get-clusters
               get-contexts get-users rename-context set set-cluster set-context
               set-credentials unset use-context view)
        kuberc(set view) plugin(list) version help
        """
    ),
    aliases={
        ("create",): {
            "resourcequota": "quota",
            "deploy": "deployment",
            "ns": "namespace",
            "cj": "cronjob",
            "pc": "priorityclass",
            "cm": "configmap",
            "pdb": "poddisruptionbudget",
            "sa": "serviceaccount",
            "ing": "ingress",
            "svc": "service",
        },
        ("top",): {"nodes": "node", "no": "node", "pods": "pod", "po": "pod"},
        ("config",): {"use": "use-context"},
        ("set",): {"sa": "serviceaccount"},
    },
    global_bool=words(
        "disable-compression insecure-skip-tls-verify match-server-version warnings-as-errors help"
    ),
    global_value=words(
        "as as-group as-uid as-user-extra cache-dir certificate-authority client-certificate "
        "client-key cluster context kubeconfig kuberc log-flush-frequency namespace password "
        "profile profile-output proxy-url request-timeout server tls-server-name token user "
        "username v vmodule"
    ),
    local_bool=words(
        """
        all all-containers all-namespaces all-pods allow-missing-template-keys append-hash
        append-server-path arguments-only as-current-user attach cached cascade client command
        containers create-annotation current delete-emptydir-data disable-eviction
        disable-filter dry-run edit embed-certs enable-alpha-plugins enable-helm
        exec-provide-cluster-info expose flatten follow force force-conflicts global-default
        helm-debug ignore-daemonsets ignore-errors ignore-not-found insecure-skip-tls-verify
        insecure-skip-tls-verify-backend interactive keep-annotations keep-init-containers
        keep-labels keep-liveness keep-readiness keep-startup leave-stdin-open list local merge
        minify name-only namespaced network no-headers no-preserve now openapi-patch
        output-patch output-watch-events overwrite prefix previous privileged prune quiet raw
        recursive remove-extra-permissions remove-extra-subjects replace resolve rm same-node
        save-config server-print server-side set-raw-bytes share-processes show-capacity
        show-events show-kind show-labels show-managed-fields show-secrets show-swap stdin sum
        timestamps tty use-protocol-buffers validate wait watch watch-only windows-line-endings
        """
    ),
    local_value=words(
        """
        accept-hosts accept-paths address aggregation-rule allowlist-entry annotation
        annotations api-group api-prefix api-version appendarg audience auth-provider
        auth-provider-arg bound-object-kind bound-object-name bound-object-uid categories cert
        certificate-authority chunk-size class client-certificate client-key cluster cluster-ip
        clusterip clusterrole concurrency container copy-to cpu current-replicas custom
        default-backend description detach-keys docker-email docker-password docker-server
        docker-username duration env exec-api-version exec-arg exec-command exec-env
        exec-interactive-mode external-ip external-name field-manager field-selector filename
        for from from-env-file from-file from-literal grace-period group hard
        helm-api-versions helm-command helm-kube-version image image-pull-policy keepalive key
        keys kuberc kustomize label-columns labels limit-bytes limits load-balancer-ip
        load-restrictor max max-depth max-log-requests max-unavailable memory min
        min-available mount name namespace namespaces network-name node-port non-resource-url
        option output output-directory override-type overrides password patch patch-file
        pod-running-timeout pod-selector policy port preemption-policy prependarg profile
        protocol proxy-url prune-allowlist reject-methods reject-paths replicas requests
        resource resource-name resource-version restart retries revision role rule schedule
        scopes section selector server serviceaccount session-affinity set-image since
        since-time skip-wait-for-delete-timeout sort-by subresource tail target target-port
        tcp template timeout tls-server-name to-revision token type types unix-socket user
        username value verb verbs www www-prefix
        """
    ),
    global_shorts={"n": "namespace", "s": "server", "v": "v", "h": "help"},
    local_shorts={
        "A": "all-namespaces",
        "L": "label-columns",
        "R": "recursive",
        "c": "container",
        "e": "env",
        "f": "filename",
        "i": "stdin",
        "k": "kustomize",
        "l": "selector",
        "o": "output",
        "q": "quiet",
        "r": "replicas",
        "t": "tty",
        "w": "watch",
    },
    verb_shorts={
        ("logs",): {"f": "follow", "p": "previous"},
        ("patch",): {"p": "patch"},
        ("proxy",): {"p": "port", "w": "www", "P": "www-prefix", "u": "unix-socket"},
        ("delete",): {"i": "interactive"},
    },
    group_flags={
        ("create",): words(
            "allow-missing-template-keys dry-run edit field-manager filename kustomize output "
            "raw recursive save-config selector show-managed-fields template validate "
            "windows-line-endings"
        ),
        ("apply",): words(
            "all allow-missing-template-keys cascade dry-run field-manager filename force "
            "force-conflicts grace-period kustomize openapi-patch output overwrite prune "
            "prune-allowlist recursive selector server-side show-managed-fields subresource "
            "template timeout validate wait"
        ),
    },
    strict_groups=frozenset(
        {
            ("create",),
            ("create", "secret"),
            ("create", "service"),
            ("set",),
            ("rollout",),
            ("certificate",),
            ("top",),
            ("auth",),
            ("config",),
            ("kuberc",),
            ("plugin",),
        }
    ),
)

_CONFIG_WRITE = (
    "verb-denied",
    "config subcommands that write change only this call's private copy of the "
    "kubeconfig: send the kubeconfig you want instead",
)

RULES = ToolRules(
    target=frozenset(
        "kubeconfig server token username password client-certificate client-key "
        "certificate-authority insecure-skip-tls-verify tls-server-name proxy-url".split()
    ),
    impersonation=frozenset("as as-group as-uid as-user-extra".split()),
    binary=frozenset(),
    stdin_files=frozenset({"filename"}),
    url_files=frozenset({"filename"}),
    files=frozenset(
        "kustomize from-file from-env-file cache-dir kuberc profile-output "
        "output-directory custom cert key patch-file".split()
    ),
    url_flags=frozenset(),
    interactive=frozenset({"stdin", "tty", "interactive", "edit"}),
    # -v=7 adds request headers, 8 and 9 response bodies (Secrets among them)
    log_levels={"v": 6, "vmodule": 6},
    denied={
        ("proxy",): ("verb-denied", "it opens a listening proxy on the server"),
        ("port-forward",): ("verb-denied", "it opens listening ports on the server"),
        ("attach",): ("interactive", "use `logs` to read a container's output"),
        ("edit",): ("interactive", "use `patch` or `apply -f -` with the change in stdin"),
        ("apply", "edit-last-applied"): ("interactive", "use `apply -f -`"),
        ("cp",): ("verb-denied", "it reads and writes files on the server"),
        ("plugin",): ("verb-denied", "plugins are programs on the server"),
        ("kuberc",): ("verb-denied", "kuberc edits a preferences file on the server"),
        ("kustomize",): (
            "file-path",
            "render with kustomize on your side and send the result with `apply -f -`",
        ),
        **{
            ("config", sub): _CONFIG_WRITE
            for sub in (
                "delete-cluster delete-context delete-user rename-context set set-cluster "
                "set-context set-credentials unset use-context"
            ).split()
        },
    },
    read_only=paths(
        "get",
        "describe",
        "logs",
        "top",
        "explain",
        "events",
        "api-resources",
        "api-versions",
        "version",
        "cluster-info",
        "auth can-i",
        "auth whoami",
        "diff",
        "wait",
        "rollout status",
        "rollout history",
        "config view",
        "config get-contexts",
        "config get-clusters",
        "config get-users",
        "config current-context",
        "completion",
        "help",
    ),
)


# --- hooks ---------------------------------------------------------------------------

# formats kubectl prints as JSON/YAML (redacted) or without values at all
_SAFE_FORMATS = frozenset({"", "json", "yaml", "kyaml", "name", "wide"})
_STRUCTURED = frozenset({"json", "yaml", "kyaml"})


def raw_config(ctx: Context) -> None:
    """``config view --raw``/``--flatten`` prints the kubeconfig's credentials."""
    parsed = ctx.parsed
    if parsed.path == ("config", "view") and parsed.has("raw", "flatten"):
        raise ctx.deny(
            "raw-config",
            "--raw" if parsed.has("raw") else "--flatten",
            "would print the kubeconfig's credentials",
            "use `config view` without it (credentials stay redacted)",
        )


def secret_output(command: Command) -> Refusal | None:
    """Why the command would print Secret values as text (jsonpath on Secrets, ...)."""
    parsed = command.parsed
    if parsed.path[:2] == ("set", "env") and parsed.has("resolve"):
        return (
            "--resolve",
            "prints the values of the Secrets the variables reference",
            "list without --resolve, or read the Secret with -o yaml (redacted)",
        )
    fmt = output_format(parsed)
    if fmt in _SAFE_FORMATS or parsed.path[:1] == ("explain",):
        return None
    where = f"-o {fmt}"
    problem = "would print Secret values as text, where they cannot be redacted"
    instead = "use -o yaml or -o json (values redacted, keys shown), or describe"
    if _names_secrets(parsed):
        return (where, problem, instead)
    sources = [f.value for f in parsed.flags if f.name in ("filename", "kustomize")]
    if not sources:
        return None
    if all(source == "-" for source in sources) and command.stdin is not None:
        if not holds_secret(command.stdin):
            return None
    return (where, f"on -f/-k content that may hold Secrets {problem}", instead)


def expects_secrets(command: Command) -> bool:
    """Structured output (``-o json``/``yaml``, ``--raw``) about Secrets or files."""
    parsed = command.parsed
    structured = (
        output_format(parsed) in _STRUCTURED
        or any(flag.name == "raw" for flag in parsed.flags)
        or parsed.path[:2] == ("apply", "view-last-applied")
    )
    named = any("secret" in unquote(arg).lower() for arg in command.args)
    files = any(flag.name in ("filename", "kustomize") for flag in parsed.flags)
    return structured and (named or files)


def output_format(parsed: Parsed) -> str:
    """The output format asked for, lower case, without its template (``jsonpath``)."""
    fmt = ""
    for flag in parsed.flags:
        if flag.name == "output" and flag.value is not None:
            fmt = flag.value
    if not fmt and any(flag.name == "template" for flag in parsed.flags):
        fmt = "go-template"  # kubectl's rule: --template without -o means go-template
    return fmt.partition("=")[0].strip().lower()


def _names_secrets(parsed: Parsed) -> bool:
    # after `--` the words are still resources: `get -o jsonpath=... -- secret db`
    for word in (*parsed.path, *parsed.positionals, *parsed.rest):
        for item in word.lower().split(","):
            if item.partition("/")[0].partition(".")[0] in ("secret", "secrets"):
                return True
    return False


def holds_secret(text: str) -> bool:
    """True when manifests in ``text`` name a Secret, or do not parse (so they might).

    Any ``kind`` spelling counts, with or without ``data``: kubectl reads the live object.
    """
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except (yaml.YAMLError, RecursionError, ValueError):
        return True
    stack: list[Any] = docs
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).lower() == "kind" and "secret" in str(value).lower():
                    return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
