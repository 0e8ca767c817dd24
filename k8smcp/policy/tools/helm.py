"""helm v4.3: commands and flags (from its source), and what server level refuses."""

from __future__ import annotations

from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words

GRAMMAR = Grammar(
    tool="helm",
    commands=tree(
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
    global_bool=words(
        "kube-insecure-skip-tls-verify debug help logtostderr alsologtostderr add-dir-header "
        "skip-headers skip-log-headers one-output legacy-stderr-threshold-behavior"
    ),
    global_value=words(
        "namespace kubeconfig kube-context kube-token kube-as-user kube-as-group kube-apiserver "
        "kube-ca-file kube-tls-server-name registry-config repository-config repository-cache "
        "content-cache burst-limit qps color colour log-dir log-file log-file-max-size "
        "stderrthreshold alsologtostderrthreshold v vmodule log-backtrace-at"
    ),
    local_bool=words(
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
    local_value=words(
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

_SERVER_FILES = (
    "file-path",
    "it works on files on the server, which k8smcp does not expose: send manifests "
    "through stdin with `-f -`",
)

RULES = ToolRules(
    target=frozenset(
        "kubeconfig kube-apiserver kube-token kube-ca-file kube-tls-server-name "
        "kube-insecure-skip-tls-verify".split()
    ),
    impersonation=frozenset({"kube-as-user", "kube-as-group"}),
    binary=frozenset({"post-renderer", "post-renderer-args"}),
    stdin_files=frozenset({"values"}),
    url_files=frozenset({"values"}),
    files=frozenset(
        "set-file ca-file cert-file key-file keyring passphrase-file output-dir untardir "
        "destination dir registry-config repository-config repository-cache content-cache "
        "log-dir log-file starter".split()
    ),
    url_flags=frozenset({"repo", "endpoint"}),
    interactive=frozenset(),
    denied={
        ("plugin",): ("verb-denied", "helm plugins are programs on the server"),
        ("docs",): ("verb-denied", "it writes files on the server"),
        ("create",): _SERVER_FILES,
        ("package",): _SERVER_FILES,
        ("lint",): (
            "file-path",
            "it reads a chart directory on the server: use `template` with a chart "
            "reference and `--repo URL`",
        ),
        ("verify",): _SERVER_FILES,
        ("dependency",): _SERVER_FILES,
        ("push",): _SERVER_FILES,
        ("repo", "index"): _SERVER_FILES,
    },
    read_only=paths(
        "list",
        "status",
        "get",
        "history",
        "show",
        "template",
        "lint",
        "version",
        "search",
        "env",
        "repo list",
        "completion",
        "help",
    ),
)
