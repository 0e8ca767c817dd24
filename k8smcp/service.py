"""call_tool(): the one path every front end takes from a request to a result.

look up the tool → split the command → policy on the command → find the kubeconfig →
policy on a kubeconfig the caller sent → check the request's limits → execute →
ToolResult. Front ends only translate their input into a ToolCall and the ToolResult
(or a K8sMcpError) into their output. Every call, refused or run, leaves one JSON line
on the ``k8smcp.audit`` logger: never a kubeconfig, a token or a Secret value.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from k8smcp import kubeconfig as kc
from k8smcp import pipeline, speedups
from k8smcp.cmdline import MAX_COMMAND_BYTES, command_bytes, split
from k8smcp.config import Settings
from k8smcp.errors import (
    BinaryNotFoundError,
    InvalidCommandError,
    InvalidRequestError,
    K8sMcpError,
    KubeconfigMissingError,
)
from k8smcp.executor import SPARE_WORKDIRS, Executor, Invocation, in_thread
from k8smcp.models import ToolRequest, ToolResult, ToolStatus
from k8smcp.policy import (
    Answers,
    Command,
    Lookups,
    check_command,
    check_kubeconfig,
    is_read_only,
    parse_command,
)
from k8smcp.redact import redact_argv
from k8smcp.tools import ToolSpec, get_tool
from k8smcp.tools import catalog as tool_catalog

if TYPE_CHECKING:
    from k8smcp import confine
    from k8smcp.egress import EgressProxy
    from k8smcp.policy.filters import Filter

logger = logging.getLogger(__name__)
audit = logging.getLogger("k8smcp.audit")

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
VERSION_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A request to run one tool. ``command`` is a string to split, or a ready list."""

    tool: str
    command: str | list[str]
    namespace: str | None = None
    stdin: str | None = None
    timeout: float | None = None
    kubeconfig: str | None = None  # base64
    context: str | None = None
    client: str = "-"  # who asked, for the audit line: a peer address, "stdio", "cli"
    entry: str = "-"  # the door it came through: rest, mcp_http, stdio, cli
    max_bytes: int | None = None  # the answer budget (k8smcp.budget); None: no budget
    offset: int | None = None  # the next part: a byte offset into the whole stdout

    @classmethod
    def of(
        cls, tool: str, request: ToolRequest, *, header: str | None, client: str, entry: str
    ) -> ToolCall:
        """The call a front end's ``request`` asks for; a kubeconfig ``header`` wins."""
        fields = asdict(request)
        if header:
            fields["kubeconfig"] = header
        return cls(tool=tool, client=client, entry=entry, **fields)


@dataclass(frozen=True, slots=True)
class Finished:
    """How one call ended, for an Observer."""

    tool: str
    entry: str
    outcome: str  # ok, failed, timeout, denied, error or cancelled
    seconds: float
    rule: str | None = None  # the policy rule of a denial
    truncated: bool = False


class Observer(Protocol):
    """Told about every call (``k8smcp.metrics.Metrics`` is one)."""

    def started(self) -> None:
        """A call came in."""

    def finished(self, call: Finished) -> None:
        """A call ended, however it ended (cancelled too)."""


class Service:
    """The core that the CLI, REST and MCP front ends share.

    ``one_shot``: this process exits once its work is done (``run``, ``tools``, ``doctor``),
    so nothing is prepared for a next call: no file thread, no spare directory
    (``Executor(spares=0)``).
    """

    def __init__(
        self, settings: Settings, observer: Observer | None = None, *, one_shot: bool = False
    ) -> None:
        self.settings = settings
        self.observer = observer
        self.executor = Executor(
            max_output_bytes=settings.max_output_bytes,
            max_concurrency=settings.max_concurrency,
            queue_timeout=settings.queue_timeout,
            spares=0 if one_shot else SPARE_WORKDIRS,
        )
        self._base_env = settings.child_env
        self._cache_root = settings.cache_root
        # An agent sends the same kubeconfig on every call, and decoding it, the YAML and
        # the shape checks were a sixth of what a call costs k8smcp itself: the parse of
        # the last few small ones is kept (failures never are; policy checks run every
        # call, since a name may resolve elsewhere the next time).
        self._parsed = functools.lru_cache(maxsize=32 if speedups.ENABLED else 0)(_parse)
        self._answers = Answers()
        self._egress: EgressProxy | None = None
        self._readable: tuple[str, ...] = ()
        if settings.confine:  # k8smcp.confine and egress are imported only then
            from k8smcp import confine
            from k8smcp.egress import EgressProxy

            self._egress = EgressProxy(self._answers)
            # what confined children may read beyond the system's files: the files the
            # operator passes by name (CA bundles, identity tokens) and the exec plugins
            # it allows (found on the children's PATH)
            self._readable = (
                *confine.passed_paths(self._base_env, settings.pass_env),
                *confine.plugin_dirs(settings.policy.allowed_exec_plugins, self._base_env["PATH"]),
            )

    async def call_tool(self, call: ToolCall) -> ToolResult:
        """Run ``call`` and return what the command did.

        Raises:
            K8sMcpError: the request is unusable or refused (unknown tool, bad command or
                kubeconfig, policy, missing binary); a command that ran and failed is a
                result, not an error.
        """
        audit = _Audit(call, self.observer)
        try:
            result = await self._call(call, audit)
        except K8sMcpError as exc:
            audit.refused(exc)
            raise
        except asyncio.CancelledError:  # the executor has killed the child
            audit.ended("cancelled")
            raise
        except BaseException:  # a bug: still one audit line, and the gauge comes down
            audit.ended("error")
            raise
        audit.ran(result)
        return result

    async def _call(self, call: ToolCall, audit: _Audit) -> ToolResult:
        spec = get_tool(call.tool)
        command, stages = await self._command(spec, call, audit)
        args = command.args
        filters = _check_filters(stages) if stages else []
        audit.args = [*args, *(a for f in filters for a in ("|", *f.argv))]
        budget = self._budget(call, command)
        timeout = self._timeout(call.timeout)
        if call.namespace is not None and not _NAMESPACE.match(call.namespace):
            raise InvalidRequestError(
                f"namespace {call.namespace!r} is not a valid Kubernetes namespace name"
            )
        config = self._kubeconfig(call)
        rendered: bytes | None = None
        cache_dir: Path | None = None
        if config is not None:
            audit.cluster = urlsplit(config.server or "").netloc or None
            if call.kubeconfig:  # a caller's kubeconfig; the operator's own is trusted
                await self._check_kubeconfig(config.data)
            rendered = config.render(namespace=call.namespace)
            identity = config.cluster_identity()
            if self._cache_root is not None and identity is not None:
                cache_dir = self._cache_root / identity
        elif call.namespace is not None:
            args = [spec.namespace_flag, call.namespace, *args]
        binary = spec.resolve_binary(self.settings.binaries)
        deadline = time.monotonic() + timeout
        async with self._confined(spec, binary, args, cache_dir) as (confinement, proxy):
            if proxy is not None and rendered is not None:
                from k8smcp.confine import through_proxy

                rendered = through_proxy(rendered, proxy, every_cluster=not spec.confine_tcp)
            completed = await self.executor.execute(
                Invocation(
                    argv=[binary, *args],
                    env=self._env(proxy),
                    kubeconfig=rendered,
                    stdin=call.stdin.encode() if call.stdin is not None else None,
                    timeout=timeout,
                    tool_env=spec.env,
                    cache_dir=cache_dir,
                    confinement=confinement,
                )
            )
        # Whole output without the word cannot hold a Secret (its kind, or a SecretList's,
        # or a manifest's "kind: Secret" would be there): skip parsing it. Cut output is
        # always parsed, since the cut may have fallen between a Secret's data and kind.
        if self.settings.policy.redact_secrets and (
            completed.truncated or "Secret" in completed.stdout
        ):
            redacted = await _redact(command, completed.stdout)
            completed = replace(completed, stdout=redacted)
        if filters:  # after redaction: a filter sees no Secret value to bring back
            completed = await pipeline.run_filters(
                self.executor,
                filters,
                completed,
                deadline=deadline,
                confined=self._egress is not None,  # as the CLI was
            )
        truncated = completed.truncated
        if budget is not None:
            stdout, stderr, cut = _within_budget(command, call.offset, budget, completed)
            completed = replace(completed, stdout=stdout, stderr=stderr)
            truncated = truncated or cut
        return replace(completed, tool=spec.name, truncated=truncated)

    def _budget(self, call: ToolCall, command: Command) -> int | None:
        """The call's answer budget in bytes, or None; refuses an offset it cannot honour."""
        limit = self.settings.max_output_budget
        if call.max_bytes is not None and not 0 < call.max_bytes <= limit:
            raise InvalidRequestError(
                f"max_bytes must be more than 0 and at most {limit} (K8SMCP_MAX_OUTPUT_BUDGET)"
            )
        if call.offset is None:
            return call.max_bytes
        if call.offset < 0:
            raise InvalidRequestError("offset must be 0 or more: a byte offset into stdout")
        if not is_read_only(command):
            raise InvalidRequestError(
                "offset runs the command again to read its next part, and this command can "
                "change the cluster: narrow it instead (selectors, -o jsonpath, a filter)"
            )
        return call.max_bytes or self.settings.output_budget

    async def aclose(self) -> None:
        """Finish what calls left to do in the background (removing their directories).

        Closes the egress proxy: no confined call can run after it.
        """
        await self.executor.aclose()
        if self._egress is not None:
            self._egress.close()

    async def tool_status(self, spec: ToolSpec) -> ToolStatus:
        """Find the tool's binary and ask it for its version."""
        try:
            found = spec.find_binary(self.settings.binaries)
        except BinaryNotFoundError as exc:
            return ToolStatus(
                spec.name, available=False, path=None, version=None, detail=exc.message
            )
        binary = found.path
        async with self._confined(spec, binary, [], None) as (confinement, proxy):
            completed = await self.executor.execute(
                Invocation(
                    argv=[binary, *spec.version_args],
                    env=self._env(proxy),
                    timeout=VERSION_TIMEOUT,
                    tool_env=spec.env,
                    confinement=confinement,
                )
            )
        if not completed.exit_code == 0:
            detail = (completed.stderr or completed.stdout).strip().splitlines()
            return ToolStatus(
                spec.name,
                available=True,
                path=binary,
                version=None,
                detail=detail[-1] if detail else f"exit code {completed.exit_code}",
                source=found.source,
            )
        return ToolStatus(
            spec.name,
            available=True,
            path=binary,
            version=_version(completed.stdout),
            source=found.source,
        )

    async def catalog(self) -> list[ToolStatus]:
        """The status of every tool, in catalog order."""
        return [await self.tool_status(spec) for spec in tool_catalog().values()]

    @contextlib.asynccontextmanager
    async def _confined(
        self, spec: ToolSpec, binary: str, args: list[str], cache_dir: Path | None
    ) -> AsyncIterator[tuple[confine.Confinement | None, str | None]]:
        """The child's confinement and its egress proxy URL (a credential for this call).

        (None, None) when confinement is off. The credential ends with the block.
        """
        if self._egress is None:
            yield None, None
            return
        from k8smcp import confine

        await self._egress.start()
        policy = self.settings.policy
        ports: tuple[int, ...] | None = None
        if spec.confine_tcp:
            ports = (self._egress.port, *confine.loopback_ports(args, policy))
        writable: tuple[str, ...] = ()
        if cache_dir is not None:
            writable = (str(cache_dir),)
        confinement = confine.Confinement(
            writable=writable,
            readable=(*confine.binary_dirs(binary), *self._readable),
            connect_ports=ports,
            read_all=not policy.is_server,  # local level: the user's own files
        )
        token = self._egress.register(policy)
        try:
            yield confinement, self._egress.url(token)
        finally:
            self._egress.forget(token)

    def _env(self, proxy: str | None) -> Mapping[str, str]:
        """The child's environment; with confinement, every proxy variable names ours."""
        if proxy is None:
            return self._base_env
        from k8smcp.confine import proxy_env

        return {**self._base_env, **proxy_env(proxy)}

    async def _command(
        self, spec: ToolSpec, call: ToolCall, audit: _Audit
    ) -> tuple[Command, list[list[str]]]:
        """The call's command, split, parsed once and through the policy, and its pipe stages.

        The length cap comes before any work on it (issue 14, class 4). A long command is
        split and checked in a worker thread (linear, but a 64 KiB command is tens of
        milliseconds of CPU), and the names the policy needs resolved are resolved in one
        too (``_resolve``), so neither stalls other calls.
        """
        size = _size(call.command)
        if size > MAX_COMMAND_BYTES:
            raise _too_long()
        lookups = Lookups()

        def check() -> tuple[Command, list[list[str]]]:
            text, stages = pipeline.split_pipeline(call.command)
            args = split_command(spec, text)
            audit.args = args
            command = parse_command(spec, args, call.stdin)
            self._check_command(command, lookups)
            return command, stages

        if size <= _SMALL_COMMAND:
            found = check()
        else:
            found = await in_thread(check)
        await self._resolve(lookups)
        return found

    def _check_command(self, command: Command, lookups: Lookups) -> None:
        """The policy on a parsed command (pure; the names it needs go into ``lookups``)."""
        check_command(self.settings.policy, command, lookups=lookups)

    async def _check_kubeconfig(self, data: dict[str, Any]) -> None:
        """The policy on a kubeconfig a caller sent, its names resolved off the loop."""
        lookups = Lookups()
        check_kubeconfig(self.settings.policy, data, lookups=lookups)
        await self._resolve(lookups)

    async def _resolve(self, lookups: Lookups) -> None:
        """Resolve the names the policy asked for, off the event loop, and finish its checks.

        A slow DNS answer stalls that call alone, not the server. Answers are shared with
        the egress proxy and used again for a few seconds (``Answers``).
        """
        names = lookups.names
        if not names:
            return lookups.finish({})
        resolver = self.settings.policy.resolver
        addresses = self._answers.known(resolver, names)
        if addresses is None:
            addresses = await in_thread(self._answers.resolve, resolver, names)
        lookups.finish(addresses)

    def _timeout(self, requested: float | None) -> float:
        if requested is None:
            return self.settings.default_timeout
        if not 0 < requested <= self.settings.max_timeout:
            raise InvalidRequestError(
                f"timeout must be more than 0 and at most {self.settings.max_timeout:g} seconds "
                "(K8SMCP_MAX_TIMEOUT)"
            )
        return requested

    def _kubeconfig(self, call: ToolCall) -> kc.Kubeconfig | None:
        max_bytes = self.settings.max_kubeconfig_bytes
        if call.kubeconfig:
            if len(call.kubeconfig) > _PARSED_MAX_CHARS:
                return kc.from_b64(call.kubeconfig, context=call.context, max_bytes=max_bytes)
            return self._parsed(call.kubeconfig, call.context, max_bytes)
        default = self.settings.default_kubeconfig
        if self.settings.mode == "server" and not self.settings.allow_default_kubeconfig:
            raise KubeconfigMissingError(_NO_KUBECONFIG.get(call.entry, _NO_KUBECONFIG["rest"]))
        if default is None:
            if self.settings.mode == "server" or call.entry == "stdio":
                # stdio: kubectl without one would ask localhost:8080, a confusing answer
                raise KubeconfigMissingError(
                    _NO_KUBECONFIG[call.entry]
                    if call.entry == "stdio"
                    else "no kubeconfig sent, and the server found no default kubeconfig at start"
                )
            return None
        return default.with_context(call.context)


# What a caller with no kubeconfig is told, by door: never to paste one into arguments.
_NO_KUBECONFIG = {
    "mcp_http": "no kubeconfig was sent: the user must configure the MCP client to send the "
    "cluster's kubeconfig, base64-encoded, in the X-Kubeconfig header",
    "stdio": "k8smcp stdio found no kubeconfig when it started (--kubeconfig, KUBECONFIG or "
    "~/.kube/config): the user must configure one and restart the server",
    "rest": "no kubeconfig sent: send it base64-encoded in the X-Kubeconfig header "
    "or the kubeconfig field",
}

_PARSED_MAX_CHARS = 16 * 1024  # a kubeconfig with a few clusters is 4-12 KiB of base64


def _check_filters(stages: list[list[str]]) -> list[Filter]:
    """``policy.filters.check_filters``; its grammars load only for a command with a pipe."""
    from k8smcp.policy.filters import check_filters

    return check_filters(stages)


def _parse(text: str, context: str | None, max_bytes: int) -> kc.Kubeconfig:
    return kc.from_b64(text, context=context, max_bytes=max_bytes)


def _within_budget(
    command: Command, offset: int | None, budget: int, completed: ToolResult
) -> tuple[str, str, bool]:
    """The stdout and stderr cut to the answer budget (``k8smcp.budget``); True if cut."""
    from k8smcp import budget as answer  # loads only for a call with a budget (MCP)

    tail = pipeline.keeps_end(command)
    stdout, cut = answer.fit(
        completed.stdout,
        budget,
        offset=offset,
        keep_end=tail,
        rerunnable=is_read_only(command),
        narrow=pipeline.narrowing(command.tool, tail),
    )
    stderr, cut_err = answer.fit(
        completed.stderr,
        budget,
        offset=None,
        keep_end=True,
        rerunnable=False,
        narrow="the command's errors come last",
    )
    return stdout, stderr, cut or cut_err


async def _redact(command: Command, stdout: str) -> str:
    """Secret values out of ``stdout``; big outputs are parsed off the event loop."""
    from k8smcp.secrets import redact_output  # loads only for output that names a Secret

    if len(stdout) < 64 * 1024:
        return redact_output(command, stdout)
    return await in_thread(redact_output, command, stdout)


_SMALL_COMMAND = 4096  # characters; longer commands are split and checked in a thread


def _size(command: str | list[str]) -> int:
    return len(command) if isinstance(command, str) else sum(len(a) + 1 for a in command)


def _too_long() -> InvalidCommandError:
    return InvalidCommandError(
        f"command is longer than {MAX_COMMAND_BYTES} bytes: send manifests and other "
        "large content in `stdin` (e.g. with `-f -`)"
    )


def split_command(spec: ToolSpec, command: str | list[str]) -> list[str]:
    """The argument list of ``command`` (without the tool's own name, if given).

    Quoting works as in a POSIX shell, so ``-o jsonpath='{.items[*].metadata.name}'``
    stays one argument; nothing is expanded and no shell ever runs. A command over
    ``MAX_COMMAND_BYTES`` is refused before it is split.
    """
    if _size(command) > MAX_COMMAND_BYTES:  # characters: never more than the bytes
        raise _too_long()
    if isinstance(command, str):
        try:
            args = split(command)
        except ValueError as exc:
            raise InvalidCommandError(f"command cannot be split: {exc} (check the quotes)") from exc
    else:
        args = list(command)
    try:
        size = command_bytes(args)
    except UnicodeEncodeError:
        raise InvalidCommandError(
            "command holds a lone surrogate (\\ud800-\\udfff), which no argument can carry"
        ) from None
    if size > MAX_COMMAND_BYTES:
        raise _too_long()
    if args and args[0] == spec.name:
        args = args[1:]
    if not args:
        raise InvalidCommandError(
            f"command is empty: give the arguments after `{spec.name}`, e.g. `{spec.name} version`"
        )
    return args


class _Audit:
    """Collects what one call did and writes it as one JSON line on k8smcp.audit."""

    def __init__(self, call: ToolCall, observer: Observer | None) -> None:
        self.call = call
        self.observer = observer
        self.started = time.monotonic()
        if observer is not None:
            observer.started()
        self.args: list[str] | None = None
        self.cluster: str | None = None

    def ran(self, result: ToolResult) -> None:
        outcome = "timeout" if result.timed_out else ("ok" if result.ok else "failed")
        self._write(outcome, exit_code=result.exit_code, truncated=result.truncated)

    def refused(self, exc: K8sMcpError) -> None:
        outcome = "denied" if exc.code == "denied" else "error"
        self._write(outcome, error=exc.code, rule=exc.extra.get("rule"))

    def ended(self, outcome: str) -> None:
        self._write(outcome)

    def _write(self, outcome: str, **fields: Any) -> None:
        if self.observer is not None:
            self.observer.finished(
                Finished(
                    tool=self.call.tool,
                    entry=self.call.entry,
                    outcome=outcome,
                    seconds=time.monotonic() - self.started,
                    rule=fields.get("rule"),
                    truncated=bool(fields.get("truncated")),
                )
            )
        if not audit.isEnabledFor(logging.INFO):
            return
        args = redact_argv(self.args) if self.args is not None else None
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "client": self.call.client,
            "tool": self.call.tool,
            "verb": next((a for a in args or () if not a.startswith("-")), None),
            "args": args,
            "cluster": self.cluster,
            "outcome": outcome,
            "duration_ms": int((time.monotonic() - self.started) * 1000),
            **{k: v for k, v in fields.items() if v is not None},
        }
        audit.info("%s", json.dumps(record))


def _version(output: str) -> str:
    """The first line of a version command's output, shortened for a table."""
    text = output.strip()
    if text.startswith("{"):
        try:
            import json

            data = json.loads(text)
            return str(data.get("clientVersion", {}).get("gitVersion") or text.splitlines()[0])
        except ValueError:
            pass
    return text.splitlines()[0] if text else "unknown"
