"""What each CLI's command line looks like: commands, aliases, and which flags take values.

The tables follow the pinned versions (kubectl 1.37 from its ``--help``; helm v4.3,
istioctl 1.31-dev and argocd v3.6 from their sources). They need not list every flag:
the parser treats an unknown flag after the command as taking no value (so anything
after it is still checked), and refuses an unknown flag before the command, where a
wrong guess would change which command runs. Global flag tables must be complete.

Flag names are normalized: lower case, ``_`` as ``-`` (cobra CLIs map ``_`` to ``-``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Tree = Mapping[str, "Tree"]
Path = tuple[str, ...]


def _tree(spec: str) -> dict[str, Tree]:
    """Parse ``"a b(c d(e)) f"`` into nested dicts: a command and its subcommands."""
    root: dict[str, Tree] = {}
    stack: list[dict[str, Tree]] = [root]
    last: str | None = None
    token = ""
    for ch in spec + " ":
        if ch in " \n()":
            if token:
                stack[-1][token] = {}
                last, token = token, ""
            if ch == "(":
                assert last is not None
                child: dict[str, Tree] = {}
                stack[-1][last] = child
                stack.append(child)
            elif ch == ")":
                stack.pop()
        else:
            token += ch
    return root


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def normalize(name: str) -> str:
    """A flag name as the tables spell it: lower case, hyphens for underscores."""
    return name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class Grammar:
    """One CLI's command tree and flag tables."""

    tool: str
    commands: Mapping[str, Tree]
    # per parent path: alias -> canonical subcommand name
    aliases: Mapping[Path, Mapping[str, str]]
    global_bool: frozenset[str]
    global_value: frozenset[str]
    # flags of some command, after the command (union over commands). Flags that take a
    # value in one command and none in another are listed as bool (never consume).
    local_bool: frozenset[str]
    local_value: frozenset[str]
    global_shorts: Mapping[str, str]
    local_shorts: Mapping[str, str]
    # per command path (and everything under it): letter -> long name, where it differs
    # from local_shorts; longer paths win
    verb_shorts: Mapping[Path, Mapping[str, str]] = field(default_factory=dict)
    # flags a command group accepts before its subcommand, besides the globals
    group_flags: Mapping[Path, frozenset[str]] = field(default_factory=dict)
    # groups under which any positional must be a known subcommand (else: a plugin runs
    # or the parse is ambiguous); the root is always strict
    strict_groups: frozenset[Path] = frozenset()

    def takes_value(self, name: str) -> bool:
        """True when the long flag ``name`` consumes the next argument as its value."""
        if name in self.global_value:
            return True
        if name in self.global_bool or name in self.local_bool:
            return False
        return name in self.local_value

    def is_global(self, name: str) -> bool:
        """True for a flag every command accepts, also before the command."""
        return name in self.global_value or name in self.global_bool

    def is_known(self, name: str) -> bool:
        """True for any flag in the tables."""
        return self.is_global(name) or name in self.local_bool or name in self.local_value

    def shorts(self, path: Path) -> Mapping[str, str]:
        """Letter -> long name under the command ``path`` (empty: before any command)."""
        if not path:
            return self.global_shorts
        merged = dict(self.local_shorts)
        for end in range(1, len(path) + 1):
            merged.update(self.verb_shorts.get(path[:end], {}))
        merged.update(self.global_shorts)
        return merged

    def resolve(self, parent: Path, word: str) -> str:
        """The canonical name of subcommand ``word`` under ``parent`` (aliases resolved)."""
        return self.aliases.get(parent, {}).get(word, word)


# --- kubectl 1.37 -------------------------------------------------------------------

KUBECTL = Grammar(
    tool="kubectl",
    commands=_tree(
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
    global_bool=_words(
        "disable-compression insecure-skip-tls-verify match-server-version warnings-as-errors help"
    ),
    global_value=_words(
        "as as-group as-uid as-user-extra cache-dir certificate-authority client-certificate "
        "client-key cluster context kubeconfig kuberc log-flush-frequency namespace password "
        "profile profile-output proxy-url request-timeout server tls-server-name token user "
        "username v vmodule"
    ),
    local_bool=_words(
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
    local_value=_words(
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
        ("create",): _words(
            "allow-missing-template-keys dry-run edit field-manager filename kustomize output "
            "raw recursive save-config selector show-managed-fields template validate "
            "windows-line-endings"
        ),
        ("apply",): _words(
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

# --- helm v4.3 ----------------------------------------------------------------------

HELM = Grammar(
    tool="helm",
    commands=_tree(
        """
        completion(bash zsh fish powershell) create dependency(build list update) docs env
        get(all hooks manifest metadata notes values) history install lint list package
        plugin(install list package uninstall update verify) pull push
        registry(login logout) repo(add index list remove update) rollback search(hub repo)
        show(all chart crds readme values) status template test uninstall upgrade verify
        version help
        """
    ),
    aliases={
        (): {
            "dep": "dependency",
            "dependencies": "dependency",
            "hist": "history",
            "ls": "list",
            "fetch": "pull",
            "inspect": "show",
            "del": "uninstall",
            "delete": "uninstall",
            "un": "uninstall",
        },
        ("dependency",): {"ls": "list", "up": "update"},
        ("plugin",): {"add": "install", "ls": "list", "rm": "uninstall", "remove": "uninstall"},
        ("repo",): {"ls": "list", "rm": "remove", "up": "update"},
    },
    global_bool=_words(
        "kube-insecure-skip-tls-verify debug help logtostderr alsologtostderr add-dir-header "
        "skip-headers skip-log-headers one-output legacy-stderr-threshold-behavior"
    ),
    global_value=_words(
        "namespace kubeconfig kube-context kube-token kube-as-user kube-as-group kube-apiserver "
        "kube-ca-file kube-tls-server-name registry-config repository-config repository-cache "
        "content-cache burst-limit qps color colour log-dir log-file log-file-max-size "
        "stderrthreshold alsologtostderrthreshold v vmodule log-backtrace-at"
    ),
    local_bool=_words(
        """
        all all-namespaces allow-deprecated-repos atomic cleanup-on-fail create-namespace
        date dependency-update deployed devel disable-openapi-validation dry-run enable-dns
        fail-on-no-result failed force force-conflicts force-replace force-update
        generate-headers generate-name hide-notes hide-secret ignore-not-found include-crds
        insecure insecure-skip-tls-verify install is-upgrade json keep-history
        list-repo-url logs no-headers no-hooks pass-credentials password-stdin pending
        plain-http prov quiet regexp release-name render-subchart-notes replace
        reset-then-reuse-values reset-values reuse-values reverse rollback-on-failure
        server-side short show-rollback-revision sign skip-crds skip-refresh
        skip-schema-validation skip-tests strict superseded take-ownership uninstalled
        uninstalling untar validate verify versions wait wait-for-jobs with-subcharts
        """
    ),
    local_value=_words(
        """
        api-versions app-version ca-file cascade cert-file chart-api-version description
        destination dir endpoint filter history-max jsonpath key key-file keyring kube-version
        labels max max-col-width merge name-template offset output output-dir passphrase-file
        password post-renderer post-renderer-args repo revision selector set set-file
        set-json set-literal set-string show-only starter template time-format timeout type
        untardir url username values version
        """
    ),
    global_shorts={"n": "namespace", "h": "help", "v": "v"},
    local_shorts={
        "A": "all-namespaces",
        "a": "all",
        "f": "values",
        "g": "generate-name",
        "i": "install",
        "l": "labels",
        "o": "output",
        "q": "short",
        "r": "reverse",
        "s": "show-only",
        "d": "destination",
        "u": "dependency-update",
        "m": "max",
        "p": "password",
    },
    verb_shorts={
        ("template",): {"a": "api-versions"},
        ("list",): {"d": "date", "f": "filter", "l": "selector", "r": "reverse", "q": "short"},
        ("search",): {"l": "versions", "r": "regexp"},
        ("registry",): {"u": "username", "p": "password"},
        ("create",): {"p": "starter"},
    },
    strict_groups=frozenset(
        {
            ("completion",),
            ("dependency",),
            ("get",),
            ("plugin",),
            ("registry",),
            ("repo",),
            ("search",),
            ("show",),
        }
    ),
)

# --- istioctl 1.31 ------------------------------------------------------------------

ISTIOCTL = Grammar(
    tool="istioctl",
    commands=_tree(
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
    global_bool=_words("help log-as-json"),
    global_value=_words(
        "kubeconfig context as as-uid as-group namespace istionamespace kubeclient-timeout "
        "vklog log-rotate log-rotate-max-age log-rotate-max-backups log-rotate-max-size "
        "log-stacktrace-level log-target log-caller log-output-level"
    ),
    local_bool=_words(
        "all-namespaces recursive use-kube list-analyzers skip-confirmation wait verbose "
        "suppress referential reset dry-run force detailed"
    ),
    local_value=_words(
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

# --- argocd v3.6 --------------------------------------------------------------------

ARGOCD = Grammar(
    tool="argocd",
    commands=_tree(
        """
        account(bcrypt can-i delete-token generate-token get get-user-info list session-token
                update-password)
        admin
        app(actions(list run) add-source confirm-deletion create delete delete-resource diff
            edit get get-resource history list logs manifests patch patch-resource
            remove-source resources rollback set sync terminate-op unset wait)
        appset(create delete generate get list)
        cert(add-ssh add-tls list rm) cluster(add get list rm rotate-auth set) completion
        configure context gpg(add get list rm) login logout
        proj(add-destination add-destination-service-account add-orphaned-ignore
             add-signature-key add-source add-source-namespace allow-cluster-resource
             allow-namespace-resource create delete deny-cluster-resource
             deny-namespace-resource edit get list remove-destination
             remove-destination-service-account remove-orphaned-ignore remove-signature-key
             remove-source remove-source-namespace role set source-integrity windows)
        relogin repo(add get list rm) repocreds(add list rm) version help
        """
    ),
    aliases={
        (): {"ctx": "context", "project": "proj"},
        ("account",): {"whoami": "get-user-info"},
    },
    global_bool=_words("plaintext insecure grpc-web port-forward core prompts-enabled help"),
    global_value=_words(
        "config server server-crt client-crt client-crt-key auth-token grpc-web-root-path "
        "logformat loglevel header http-retry-max port-forward-namespace argocd-context "
        "server-name controller-name redis-haproxy-name redis-name repo-server-name "
        "redis-compress kube-context"
    ),
    local_bool=_words(
        "follow previous yes quiet unixtime token-only match-case local-include upsert "
        "refresh hard-refresh async prune dry-run force replace server-side-generate "
        "exit-code ignore-missing-value-files"
    ),
    local_value=_words(
        """
        output out selector label file from app-namespace appset-namespace project repo path
        revision dest-server dest-namespace dest-name parameter src action object resource
        kind account cluster container expires-in id dest inline list permission
        propagation-policy local local-repo-root kubeconfig ssh-private-key-path
        tls-client-cert-path tls-client-cert-key-path github-app-private-key-path
        gcp-service-account-key-path values-literal-file policy-file name timeout group
        tail since-seconds helm-set helm-set-string helm-set-file values
        """
    ),
    global_shorts={"H": "header", "h": "help"},
    local_shorts={
        "o": "output",
        "l": "selector",
        "f": "file",
        "N": "app-namespace",
        "p": "project",
        "r": "repo",
        "y": "yes",
        "q": "quiet",
        "c": "cluster",
        "a": "account",
        "e": "expires-in",
        "i": "id",
        "k": "kind",
        "m": "match-case",
        "P": "path",
        "s": "src",
        "t": "token-only",
        "u": "unixtime",
        "d": "dest",
    },
    verb_shorts={
        ("app",): {"p": "parameter"},
        ("app", "logs"): {"f": "follow", "p": "previous"},
        ("app", "list"): {"p": "project"},
        ("cert",): {"f": "from"},
        ("gpg",): {"f": "from"},
    },
    strict_groups=frozenset(
        {
            ("account",),
            ("app",),
            ("appset",),
            ("cert",),
            ("cluster",),
            ("gpg",),
            ("proj",),
            ("repo",),
            ("repocreds",),
        }
    ),
)

GRAMMARS: dict[str, Grammar] = {g.tool: g for g in (KUBECTL, HELM, ISTIOCTL, ARGOCD)}
