"""The only place k8smcp starts processes: an argument list in, a Completed out.

Each call gets a private directory (0700) that holds the kubeconfig (0600) and serves as
the child's HOME, with every config and cache directory the CLIs use pointed inside it.
The child runs without a shell, in a process group of its own, with an allowlisted
environment; stdout and stderr are read concurrently and capped while they are read.
On timeout or cancellation the whole group is killed. The directory is removed on every
way out.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc

from k8smcp.errors import BinaryNotFoundError, BusyError
from k8smcp.redact import redact_argv

logger = logging.getLogger(__name__)

TIMEOUT_EXIT_CODE = 124  # what GNU timeout exits with
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Invocation:
    """One process to run.

    ``argv[0]`` is the binary's path; ``env`` is the complete environment except for the
    variables that point into the private directory: ``home_env`` sets the common ones and
    ``tool_env`` (given the private HOME) adds the tool's own.
    """

    argv: list[str]
    env: Mapping[str, str]
    kubeconfig: bytes | None = None
    stdin: bytes | None = None
    timeout: float = 60.0
    tool_env: Callable[[Path], Mapping[str, str]] = field(default=lambda home: {})
    # kubectl's cache directory (KUBECACHEDIR) when it is shared; else it stays private
    cache_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Completed:
    """What a process did. ``exit_code`` is 124 when k8smcp killed it on timeout."""

    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    truncated: bool
    timed_out: bool
    duration_ms: int


class Executor:
    """Runs invocations, at most ``max_concurrency`` at a time in this process.

    A call waits up to ``queue_timeout`` seconds for a free slot, then is refused
    with BusyError (HTTP 429) rather than queueing without bound.
    """

    def __init__(
        self, *, max_output_bytes: int, max_concurrency: int, queue_timeout: float = 30.0
    ) -> None:
        self.max_output_bytes = max_output_bytes
        self.max_concurrency = max_concurrency
        self.queue_timeout = queue_timeout
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The slots shared by every call of this process (made inside the event loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return self._limiter

    async def execute(self, inv: Invocation) -> Completed:
        """Run ``inv`` to completion, timeout or cancellation.

        Raises:
            BinaryNotFoundError: the binary could not be started.
            BusyError: no slot became free within ``queue_timeout``.
        """
        try:
            with anyio.fail_after(self.queue_timeout):
                await self.limiter.acquire()
        except TimeoutError:
            raise BusyError(
                f"all {self.max_concurrency} execution slots stayed busy for "
                f"{self.queue_timeout:g}s (K8SMCP_MAX_CONCURRENCY): retry later"
            ) from None
        try:
            # file system work goes to a thread: under load it was a sixth of the loop's time
            workdir = Path(await anyio.to_thread.run_sync(_make_workdir))
            try:
                return await self._run(inv, workdir)
            finally:
                with anyio.CancelScope(shield=True):  # removed on every way out, cancel too
                    await anyio.to_thread.run_sync(_remove, workdir)
        finally:
            self.limiter.release()

    async def _run(self, inv: Invocation, workdir: Path) -> Completed:
        env = dict(inv.env)
        env.update(home_env(workdir))
        env.update(inv.tool_env(Path(env["HOME"])))
        if inv.cache_dir is not None:
            env["KUBECACHEDIR"] = str(inv.cache_dir)
        if inv.kubeconfig is not None:
            await anyio.to_thread.run_sync(_write_private, Path(env["KUBECONFIG"]), inv.kubeconfig)
        shown = [Path(inv.argv[0]).name, *redact_argv(inv.argv[1:])]
        started = time.monotonic()
        try:
            process = await anyio.open_process(
                inv.argv,
                stdin=subprocess.PIPE if inv.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=env,
                start_new_session=True,  # its own process group, so we can kill all of it
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise BinaryNotFoundError(
                f"{shown[0]} could not be started: {exc.strerror}", tool=shown[0]
            ) from exc
        out = _Capped(self.max_output_bytes)
        err = _Capped(self.max_output_bytes)
        timed_out = False
        try:
            with anyio.move_on_after(inv.timeout) as scope:
                async with anyio.create_task_group() as tg:
                    if process.stdin is not None:
                        tg.start_soon(_feed, process.stdin, inv.stdin or b"")
                    assert process.stdout is not None and process.stderr is not None
                    tg.start_soon(out.drain, process.stdout)
                    tg.start_soon(err.drain, process.stderr)
                    await process.wait()
            timed_out = scope.cancelled_caught
        finally:
            # On timeout, cancellation or any error: nothing of the call may outlive it.
            with anyio.CancelScope(shield=True):
                _kill_group(process.pid)
                await process.aclose()
        duration_ms = int((time.monotonic() - started) * 1000)
        exit_code = TIMEOUT_EXIT_CODE if timed_out else (process.returncode or 0)
        stderr = err.text("stderr")
        if timed_out:
            stderr += f"\n[k8smcp: killed after the {inv.timeout:g}s timeout]\n"
        return Completed(
            argv=shown,
            exit_code=exit_code,
            stdout=out.text("stdout"),
            stderr=stderr,
            truncated=out.dropped > 0 or err.dropped > 0,
            timed_out=timed_out,
            duration_ms=duration_ms,
        )


def home_env(workdir: Path) -> dict[str, str]:
    """The variables that put every per-user file of the child inside ``workdir``.

    ``home`` and ``tmp`` exist already (``_make_workdir``).
    """
    home = workdir / "home"
    tmp = workdir / "tmp"
    return {
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "KUBECONFIG": str(workdir / "kubeconfig"),
    }


class _Capped:
    """Collects a stream up to a byte cap, counting (and discarding) what is past it."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.dropped = 0

    async def drain(self, stream: anyio.abc.ByteReceiveStream) -> None:
        async for chunk in stream:
            room = self.cap - len(self.buffer)
            if room > 0:
                self.buffer += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self, name: str) -> str:
        text = self.buffer.decode(errors="replace")
        if self.dropped:
            text += (
                f"\n[k8smcp: {name} truncated at {self.cap} bytes; "
                f"{self.dropped} more bytes dropped (K8SMCP_MAX_OUTPUT_BYTES)]\n"
            )
        return text


async def _feed(stream: anyio.abc.ByteSendStream, data: bytes) -> None:
    try:
        for start in range(0, len(data), _CHUNK):
            await stream.send(data[start : start + _CHUNK])
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, BrokenPipeError):
        pass  # the child exited without reading all of its input: its exit code tells
    finally:
        await stream.aclose()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _make_workdir() -> str:
    workdir = tempfile.mkdtemp(prefix="k8smcp-")  # mode 0700
    for name in ("home", "tmp"):
        os.mkdir(os.path.join(workdir, name), 0o700)
    return workdir


def _remove(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
