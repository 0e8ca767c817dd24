"""istioctl 1.31: commands and flags (from its source), server refusals, a hook.

The hook of its special case (``analyze FILE``).
"""

from __future__ import annotations

from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words
from k8smcp.policy.hooks import Context

GRAMMAR = Grammar(
    tool="istioctl",
    commands=tree(
        """
        admin(log) analyze authz bug-report collateral completion create-remote-secret
        dashboard experimental(authz(check) check-inject config(list)
            describe(pod service) injector(list) internal-debug metrics precheck
            proxy-status version workload(entry group) envoy-stats)
        install kube-inject manifest(generate install translate) options
        proxy-config(all bootstrap cluster ecds eds endpoint envoy-stats listener log
            rootca-compare route secret)
        proxy-status remote-clusters tag(generate list remove set) uninstall upgrade
        validate version waypoint(apply delete generate list status)
        ztunnel-config(all certificate connections log policy service workload) help
        """
    ),
    aliases={
        (): {
            "x": "experimental",
            "exp": "experimental",
            "istiod": "admin",
            "dash": "dashboard",
            "d": "dashboard",
            "pc": "proxy-config",
            "ps": "proxy-status",
            "v": "validate",
            "zc": "ztunnel-config",
        },
        ("admin",): {"l": "log"},
        ("experimental",): {"des": "describe", "m": "metrics"},
        ("experimental", "describe"): {"po": "pod", "svc": "service"},
        ("proxy-config",): {
            "clusters": "cluster",
            "c": "cluster",
            "a": "all",
            "listeners": "listener",
            "l": "listener",
            "es": "envoy-stats",
            "o": "log",
            "routes": "route",
            "r": "route",
            "endpoints": "endpoint",
            "ep": "endpoint",
            "b": "bootstrap",
            "secrets": "secret",
            "s": "secret",
            "rc": "rootca-compare",
            "ec": "ecds",
        },
        ("tag",): {"show": "list", "delete": "remove"},
        ("ztunnel-config",): {
            "certificates": "certificate",
            "certs": "certificate",
            "cert": "certificate",
            "services": "service",
            "s": "service",
            "svc": "service",
            "policies": "policy",
            "p": "policy",
            "pol": "policy",
            "w": "workload",
            "workloads": "workload",
            "cons": "connections",
            "o": "log",
        },
    },
    global_bool=words("help log-as-json"),
    global_value=words(
        "kubeconfig context as as-uid as-group namespace istionamespace kubeclient-timeout "
        "vklog log-rotate log-rotate-max-age log-rotate-max-backups log-rotate-max-size "
        "log-stacktrace-level log-target log-caller log-output-level"
    ),
    local_bool=words(
        "all-namespaces recursive use-kube list-analyzers skip-confirmation wait verbose "
        "suppress referential reset dry-run force detailed"
    ),
    local_value=words(
        "output file filename manifests meshconfigfile injectconfigfile valuesfile "
        "operatorfilename cert-dir charts dir output-dir set revision selector labels "
        "annotations port ports type level stack-trace-level proxy-admin-port "
        "output-threshold failure-threshold from-version duration weight serviceaccount"
    ),
    global_shorts={"c": "kubeconfig", "n": "namespace", "i": "istionamespace", "h": "help"},
    local_shorts={
        "A": "all-namespaces",
        "R": "recursive",
        "k": "use-kube",
        "L": "list-analyzers",
        "y": "skip-confirmation",
        "o": "output",
        "f": "filename",
        "d": "manifests",
        "l": "selector",
        "r": "revision",
        "p": "port",
        "s": "set",
        "t": "type",
        "w": "wait",
        "x": "referential",
        "S": "suppress",
        "v": "verbose",
        "a": "annotations",
    },
    verb_shorts={
        ("experimental", "metrics"): {"d": "duration"},
        ("experimental", "workload"): {"w": "weight", "s": "serviceaccount"},
        ("tag",): {"f": "from-version"},
    },
)

RULES = ToolRules(
    set_path_keys=frozenset({"installpackagepath", "spec.installpackagepath"}),
    target=frozenset({"kubeconfig"}),
    impersonation=frozenset({"as", "as-uid", "as-group"}),
    binary=frozenset(),
    stdin_files=frozenset({"filename", "file"}),
    url_files=frozenset(),
    files=frozenset(
        "meshconfigfile injectconfigfile valuesfile operatorfilename manifests charts "
        "cert-dir dir output-dir log-target log-rotate".split()
    ),
    url_flags=frozenset(),
    interactive=frozenset(),
    log_levels={"vklog": 6},  # client-go's klog: 8 and up log response bodies
    denied={
        ("dashboard",): ("verb-denied", "it port-forwards and opens a browser on the server"),
        ("bug-report",): ("verb-denied", "it writes an archive on the server"),
        ("collateral",): ("verb-denied", "it writes files on the server"),
        ("experimental", "workload"): ("verb-denied", "it writes files on the server"),
    },
    read_only=paths(
        "analyze",
        "version",
        "proxy-status",
        "remote-clusters",
        "manifest generate",
        "tag list",
        "waypoint list",
        "waypoint status",
        "waypoint generate",
        "validate",
        "completion",
        "options",
        "help",
        *(
            f"proxy-config {sub}"
            for sub in "all bootstrap cluster ecds eds endpoint envoy-stats listener "
            "rootca-compare route secret".split()
        ),
        *(
            f"ztunnel-config {sub}"
            for sub in "all certificate connections policy service workload".split()
        ),
        *(
            f"experimental {sub}"
            for sub in "authz check-inject config describe injector internal-debug "
            "metrics precheck proxy-status version envoy-stats".split()
        ),
    ),
)


def analyze_files(ctx: Context) -> None:
    """``analyze FILE...`` reads files (``-`` is stdin)."""
    parsed = ctx.parsed
    if parsed.path == ("analyze",):
        for arg in (*parsed.positionals, *parsed.rest):
            ctx.file("istioctl analyze FILE", arg, stdin=True)
