"""Policy: pure decisions on whether a call may run, made before anything runs.

Nothing here spawns a process or touches a file, and no check resolves a name: the
address checks that need DNS wait in ``Lookups``, which the caller resolves (off its
event loop) and hands back; the convenience forms without ``lookups`` resolve through
``Policy.resolver`` (injectable for tests) and may block. Every refusal raises
``PolicyDeniedError`` (exit 4, HTTP 403, code ``denied``) with ``rule=<id>`` as extra, so
``error_body()`` carries it; the message names the kubeconfig field path or the flag,
the rule, and what to do instead, and never quotes a credential.

API::

    policy = Policy.server(allowed_exec_plugins=frozenset({"kubelogin"}))  # or Policy.local()
    command = parse_command(spec, args, stdin)       # parsed once; every check reads it
    lookups = Lookups()
    check_command(policy, command, lookups=lookups)  # every command rule, no DNS
    lookups.finish(resolve_names(policy.resolver, lookups.names))  # in a worker thread
    check_kubeconfig(policy, kubeconfig.data, lookups=lookups)  # the same way
    check_command(policy, "kubectl", args)           # convenience: resolves, may block
    check_url(policy, url, field="-f", schemes=("http", "https"))  # address policy alone
    is_read_only(command)                            # for MCP readOnlyHint / audits

Call order in the service: ``check_command`` first, then ``check_kubeconfig`` for a
kubeconfig the caller sent; each hands its names to resolve back and the service
finishes it before going on. A kubeconfig the operator configured need not be checked.
The special cases of each CLI are hooks on its ToolSpec (``k8smcp.tools``,
``k8smcp.policy.hooks``): nothing here compares tool names.

Levels. ``server`` (the default for ``serve``): every rule below. ``local`` (``run``,
``stdio``): the user's own machine, so exec plugins, kubeconfig files, target flags and
all commands are fine; what still applies there is what an operator turns on
(``read_only``, ``allowed_servers``/``denied_servers``, a non-empty
``allowed_exec_plugins``, ``allow_urls=False``, or setting ``allow_local_files``,
``allow_impersonation`` or ``allow_registry_login`` to False), plus the ``shell`` rule.

Rule ids (``RULES``):

- ``kubeconfig-exec``: a user ``exec`` plugin or ``auth-provider`` not on
  ``allowed_exec_plugins``. An allowed plugin runs by bare name only (a path such as
  ``/tmp/x/aws`` is refused even when ``aws`` is allowed); ``aws`` must run as ``aws eks
  get-token``, ``kubelogin`` as ``kubelogin get-token``; no plugin argument may name a
  path or URL; ``exec.env`` may not set variables that load code, name paths or
  endpoints (``LD_*``, ``PATH``, ``*_FILE``, ``*_PROXY``, ``*ENDPOINT*``, ...); keys
  may not repeat in another case; an auth-provider may not carry ``cmd-path``.
- ``kubeconfig-file``: ``certificate-authority``, ``client-certificate``,
  ``client-key``, ``tokenFile``, OIDC ``idp-certificate-authority`` (any key case).
- ``address``: ``server``, ``proxy-url``, OIDC ``idp-issuer-url`` and URL arguments:
  cloud metadata hosts/addresses, link-local and unspecified addresses are refused at
  server level; ``denied_servers`` always; a non-empty ``allowed_servers`` admits only
  hostnames it lists (``*.example.com`` works) or addresses in its CIDRs. Names are
  resolved and every address checked (IPv4 inside IPv6 too). Loopback is refused with
  ``allow_loopback=False`` (what ``serve`` sets when it listens beyond loopback);
  private ranges pass (see ``policy/address.py`` for why). A cluster without a
  ``server``, or a context naming no cluster, is refused at server level: the CLI
  would fall back to ``http://localhost:8080``.
- ``url``: a malformed URL, a scheme the place does not accept, ``allow_urls=False``, or
  helm ``--dependency-update`` (it fetches repositories named inside the chart).
- ``impersonation``: ``--as``, ``--as-group``, ``--as-uid``, ``--as-user-extra``, helm
  ``--kube-as-*``, kubeconfig ``as*`` fields, unless ``allow_impersonation``.
- ``flag-target``: flags that change the cluster, credentials or client config (kubectl
  ``--kubeconfig``, ``--server``/``-s``, ``--token``, ``--username``, ``--password``,
  ``--client-*``, ``--certificate-authority``, ``--insecure-skip-tls-verify``,
  ``--tls-server-name``, ``--proxy-url``; helm ``--kubeconfig``, ``--kube-apiserver``,
  ``--kube-token``, ``--kube-ca-file``, ``--kube-tls-server-name``,
  ``--kube-insecure-skip-tls-verify``; istioctl ``--kubeconfig``/``-c``; argocd
  ``--server``, ``--auth-token``, ``--config``, ``--server-crt``, ``--client-crt*``,
  ``--port-forward*``). ``--context``, ``--cluster``, ``--user`` stay allowed: they
  pick another entry of the same, fully checked kubeconfig.
- ``flag-binary``: helm ``--post-renderer``/``--post-renderer-args``.
- ``flag-unknown``: a flag before the command that is not a global flag (cobra would
  guess whether it takes a value, and a wrong guess changes which command runs), or a
  bundle like ``-hn`` whose value would be a command name (``kubectl -hn proxy get``
  runs ``proxy``: pflag and cobra read it differently).
- ``dash-name``: a value-taking flag followed by an argument starting with ``-``
  (``-n --server=x``): ``--flag=-value`` still works.
- ``verb-unknown``: a command or subcommand the tool does not have; kubectl and argocd
  would run ``kubectl-<verb>``/``argocd-<verb>`` from PATH (and ``kubectl create <x>``
  runs ``kubectl-create-<x>``).
- ``verb-denied``: kubectl ``proxy``, ``port-forward``, ``cp``, ``plugin``, ``kuberc``,
  ``config`` subcommands that write; helm ``plugin``, ``docs``; istioctl ``dashboard``,
  ``bug-report``, ``collateral``, ``x workload``; argocd ``login``, ``relogin``,
  ``logout``, ``context``, ``configure``, ``admin``.
- ``interactive``: kubectl ``attach``, ``edit``, ``apply edit-last-applied``, and
  ``-i``/``--stdin``, ``-t``/``--tty``, ``--interactive``, ``--edit`` anywhere; argocd
  ``app edit``, ``proj edit``.
- ``raw-config``: kubectl ``config view --raw``/``--flatten``.
- ``file-path``: flags naming server files (``-f``/``--filename``, helm ``-f/--values``,
  istioctl ``-f``: only ``-`` for stdin, or a URL where the CLI fetches one; ``-k``,
  ``--from-file``, ``--from-env-file``, ``--set-file``, helm ``--ca-file`` etc., ``-o
  jsonpath-file=``/``go-template-file=``), commands that work on server paths (kubectl
  ``kustomize``; helm ``create``, ``package``, ``lint``, ``verify``, ``dependency``,
  ``push``, ``repo index``), helm chart arguments that are not NAME, REPO/NAME or a URL
  (also after ``--``), istioctl ``analyze FILE`` and ``--set installPackagePath=``,
  argocd ``appset create FILE``. Unless ``allow_local_files``.
- ``registry-login``: helm ``registry login`` unless ``allow_registry_login``.
- ``argocd-core``: argocd commands without ``--core`` (they would need an Argo CD API
  server login); ``version``, ``completion`` and ``help`` are exempt.
- ``shell``: an argument that is a shell operator (``|``, ``;``, ``&&``, ``>``, ...),
  starts or ends with one, or contains `` ` `` or ``$(``: no shell runs, so they would
  do nothing or something unintended. (The service takes ``| filter`` stages off first,
  see ``pipeline``; this rule never sees them.)
- ``filter``: a pipe stage that is not one of the filters or uses an option beyond its
  input (files, writes, programs, ``jq`` environment access): ``policy/filters.py``.
- ``read-only``: with ``read_only``, any command outside the per-tool allowlist.
- ``secret-output`` (with ``redact_secrets``, on at server level): output that would
  print Secret values where the redaction cannot find them, per the tool's
  ``secret_output`` hook: kubectl text formats (jsonpath, go-template, custom-columns)
  on Secrets named anywhere (after ``--`` too) or on ``-f -`` content naming a Secret
  (with or without ``data``: kubectl prints the live object) or not parsing,
  ``set env --resolve``; helm ``get all`` and table output with ``--dry-run``/``--debug``.
- ``verbosity`` (with ``redact_secrets``): a log level at which the client logs API
  request and response bodies: kubectl and helm ``-v``/``--vmodule`` above 6, istioctl
  ``--vklog`` above 6.

The per-CLI tables (commands, aliases, flags, refusals) are in ``policy/tools/``, one
module per CLI; ``policy/parse.py`` reads a command line the way cobra and pflag do.

Decisions worth knowing: ``logs -f``, ``get -w`` and other long-running reads are
allowed (the executor's timeout kills the process group); ``exec POD -- CMD`` is
allowed (it runs in the pod) but not in read-only mode; argocd ``--core`` runs a
short-lived API server on loopback for the call's duration.

Known limits: loopback is allowed while ``serve`` listens on loopback only (the test
clusters listen there), so such a server's local callers can reach its host's loopback
services. DNS rebinding and HTTP redirects happen after the check (see ``address``).
The policy never sees stdin except for the Secret check of ``-f -`` manifests, so
content sent there (an IstioOperator naming ``spec.installPackagePath``) is not checked.
"""

from __future__ import annotations

from k8smcp.policy.address import Answers, Lookups, check_url, resolve_names
from k8smcp.policy.base import RULES, Policy, Resolver, system_resolver
from k8smcp.policy.command import (
    check_command,
    check_secret_output,
    is_read_only,
    secret_output_allowed,
)
from k8smcp.policy.hooks import Command, Context, parse_command
from k8smcp.policy.kubeconfig import check_kubeconfig

__all__ = [
    "RULES",
    "Answers",
    "Command",
    "Context",
    "Lookups",
    "Policy",
    "Resolver",
    "check_command",
    "check_kubeconfig",
    "check_secret_output",
    "check_url",
    "is_read_only",
    "parse_command",
    "resolve_names",
    "secret_output_allowed",
    "system_resolver",
]
