"""argocd v3.6: commands and flags (from its source), server refusals, hooks.

The hooks of its special cases (``--core``, ApplicationSet files, manifests).
"""

from __future__ import annotations

from k8smcp.policy.address import HTTP_SCHEMES
from k8smcp.policy.grammar import Grammar, ToolRules, paths, tree, words
from k8smcp.policy.hooks import Command, Context

GRAMMAR = Grammar(
    tool="argocd",
    commands=tree(
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
    global_bool=words("plaintext insecure grpc-web port-forward core prompts-enabled help"),
    global_value=words(
        "config server server-crt client-crt client-crt-key auth-token grpc-web-root-path "
        "logformat loglevel header http-retry-max port-forward-namespace argocd-context "
        "server-name controller-name redis-haproxy-name redis-name repo-server-name "
        "redis-compress kube-context"
    ),
    local_bool=words(
        "follow previous yes quiet unixtime token-only match-case local-include upsert "
        "refresh hard-refresh async prune dry-run force replace server-side-generate "
        "exit-code ignore-missing-value-files"
    ),
    local_value=words(
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

RULES = ToolRules(
    target=frozenset(
        "server auth-token config server-crt client-crt client-crt-key port-forward "
        "port-forward-namespace".split()
    ),
    impersonation=frozenset(),
    binary=frozenset(),
    stdin_files=frozenset({"file"}),
    url_files=frozenset({"file"}),
    files=frozenset(
        "from local local-repo-root kubeconfig ssh-private-key-path tls-client-cert-path "
        "tls-client-cert-key-path github-app-private-key-path gcp-service-account-key-path "
        "values-literal-file policy-file".split()
    ),
    url_flags=frozenset(),
    interactive=frozenset(),
    denied={
        ("login",): ("verb-denied", "use --core with the kubeconfig instead of a login"),
        ("relogin",): ("verb-denied", "use --core with the kubeconfig instead of a login"),
        ("logout",): ("verb-denied", "use --core with the kubeconfig instead of a login"),
        ("context",): ("verb-denied", "use --core with the kubeconfig's context"),
        ("configure",): ("verb-denied", "it writes the local argocd config"),
        ("admin",): (
            "verb-denied",
            "admin commands read and write files on the server: use app, proj, "
            "cluster or repo commands with --core, or kubectl",
        ),
        ("app", "edit"): ("interactive", "use `app set` or `app patch`"),
        ("proj", "edit"): ("interactive", "use `proj set` or the proj add-/remove- commands"),
    },
    read_only=paths(
        "app list",
        "app get",
        "app diff",
        "app history",
        "app manifests",
        "app resources",
        "app logs",
        "app get-resource",
        "appset list",
        "appset get",
        "proj list",
        "proj get",
        "cluster list",
        "cluster get",
        "repo list",
        "repo get",
        "repocreds list",
        "account can-i",
        "account get-user-info",
        "account list",
        "account get",
        "cert list",
        "gpg list",
        "gpg get",
        "version",
        "completion",
        "help",
    ),
)


_NO_CORE = paths("version", "completion", "help")


def core_mode(ctx: Context) -> None:
    """Without ``--core`` argocd talks to an Argo CD API server, which needs a login."""
    parsed = ctx.parsed
    if not parsed.has("core") and parsed.path and parsed.path[:1] not in _NO_CORE:
        raise ctx.deny(
            "argocd-core",
            ctx.command.describe(),
            "would talk to an Argo CD API server, which needs a login this server does not keep",
            "add --core so argocd uses the kubeconfig's cluster directly",
        )


def appset_files(ctx: Context) -> None:
    """``appset create|generate FILE...`` reads files or fetches URLs."""
    path = ctx.parsed.path
    if path in (("appset", "create"), ("appset", "generate")):
        for arg in (*ctx.parsed.positionals, *ctx.parsed.rest):
            ctx.file(f"{ctx.command.describe()} FILE", arg, stdin=False, schemes=HTTP_SCHEMES)


def expects_secrets(command: Command) -> bool:
    """``app manifests`` prints an application's manifests, Secrets among them."""
    return command.parsed.path[:2] == ("app", "manifests")
