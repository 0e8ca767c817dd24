"""kubectl 1.37: commands and flags (from its --help and options), and server refusals."""

from __future__ import annotations

from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words

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
