"""The only place k8smcp starts processes: an argument list in, a ToolResult out.

Each call gets a private directory (0700) that holds the kubeconfig (0600) and serves as
the child's HOME, with every config and cache directory the CLIs use pointed inside it.
The child runs without a shell, in a process group of its own, with an allowlisted
environment; stdout and stderr are read concurrently and capped while they are read.
On timeout or cancellation the whole group is killed. The directory is removed on every
way out.

In a server the file system work stays off the calls' path and off the event loop: a
thread of the executor's own makes a few directories ahead of need and removes used ones
(the answer does not wait for it); the process finishes that work before it exits. A
one-shot process (``k8smcp run``: one call, then exit) has no such thread: its call's
directory is made and removed inline.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from k8smcp.errors import BinaryNotFoundError, BusyError
from k8smcp.models import ToolResult, ran
from k8smcp.redact import redact_argv

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from k8smcp import confine

logger = logging.getLogger(__name__)

TIMEOUT_EXIT_CODE = 124  # what GNU timeout exits with
_CHUNK = 64 * 1024
_KUBECONFIG = "kubeconfig"  # the file's name inside the private directory
T = TypeVar("T")
SPARE_WORKDIRS = 4  # private directories made ahead (a server's), each used by one call only


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
    # (resource.RLIMIT_*, value) pairs set on the child (the pipe filters' memory cap)
    limits: tuple[tuple[int, int], ...] = ()

    # Landlock rules for the child (k8smcp.confine); the call directory is added to
    # what it may write. None: unconfined.
    confinement: confine.Confinement | None = None


class Executor:
    """Runs invocations, at most ``max_concurrency`` at a time in this process.

    A call waits up to ``queue_timeout`` seconds for a free slot, then is refused
    with BusyError (HTTP 429) rather than queueing without bound.

    ``spares``: how many private directories a thread of the executor's own keeps ready
    (and how many threads wait parked to start confined children). 0, for a process that
    makes one call and exits (``k8smcp run``): no thread and nothing made ahead; the
    call's directory is made and removed inline, on the loop.
    """

    def __init__(
        self,
        *,
        max_output_bytes: int,
        max_concurrency: int,
        queue_timeout: float = 30.0,
        spares: int = SPARE_WORKDIRS,
    ) -> None:
        self.max_output_bytes = max_output_bytes
        self.max_concurrency = max_concurrency
        self.queue_timeout = queue_timeout
        self.spares = spares
        self._limiter: asyncio.Semaphore | None = None
        self._files = _FileThread(spares) if spares else None
        # threads that start confined children (k8smcp.confine, imported only then)
        self._starter: confine.Starter | None = None

    @property
    def limiter(self) -> asyncio.Semaphore:
        """The slots shared by every call of this process (made inside the event loop)."""
        if self._limiter is None:
            self._limiter = asyncio.Semaphore(self.max_concurrency)
        return self._limiter

    async def execute(self, inv: Invocation) -> ToolResult:
        """Run ``inv`` to completion, timeout or cancellation.

        Raises:
            BinaryNotFoundError: the binary could not be started.
            BusyError: no slot became free within ``queue_timeout``.
        """
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self.limiter.acquire()
        except TimeoutError:
            raise BusyError(
                f"all {self.max_concurrency} execution slots stayed busy for "
                f"{self.queue_timeout:g}s (K8SMCP_MAX_CONCURRENCY): retry later"
            ) from None
        try:
            workdir = await self._workdir(inv.kubeconfig)
            try:
                return await self._run(inv, workdir)
            finally:  # on every way out, cancel too
                if self._files is None:
                    _remove(workdir)
                else:
                    self._files.remove(workdir)
        finally:
            self.limiter.release()

    async def aclose(self) -> None:
        """Finish the file work: the removals queued, the spare directories removed.

        For shutdown, before a signal ends the process (uvicorn re-raises SIGTERM, which
        skips atexit). Calls made after it still work, without spares.
        """
        if self._files is not None:
            await in_thread(self._files.close)
        if self._starter is not None:
            self._starter.close()

    async def _workdir(self, kubeconfig: bytes | None) -> Path:
        """A private directory for one call, with the kubeconfig written in it.

        A spare one when there is one (only the small file is written here, on the loop),
        else a new one made in a worker thread: under load, mkdir and rmtree on the loop
        were a sixth of its time. Without a file thread (a one-shot process) it is made
        here: a thread's start costs more than the few mkdirs.
        """
        if self._files is None:
            return Path(_make_workdir(kubeconfig))
        spare = self._files.take()
        if spare is not None:
            try:
                if kubeconfig is not None:
                    _write_private(os.path.join(spare, _KUBECONFIG), kubeconfig)
                return Path(spare)
            except OSError:  # gone since it was made (a tmp cleaner): make a new one
                self._files.remove(spare)
        return Path(await in_thread(_make_workdir, kubeconfig))

    def _confined_starter(self) -> confine.Starter:
        """The starter of confined children, made (and k8smcp.confine imported) on first use."""
        if self._starter is None:
            from k8smcp.confine import Starter

            self._starter = Starter(spares=min(self.spares, Starter.SPARES))
        return self._starter

    async def _run(self, inv: Invocation, workdir: Path) -> ToolResult:
        env = dict(inv.env)
        env.update(home_env(workdir))
        env.update(inv.tool_env(Path(env["HOME"])))
        if inv.cache_dir is not None:
            env["KUBECACHEDIR"] = str(inv.cache_dir)
        shown = [Path(inv.argv[0]).name, *redact_argv(inv.argv[1:])]
        started = time.monotonic()
        try:
            child = await _Child.start(inv, workdir, env, self._confined_starter)
        except (FileNotFoundError, PermissionError) as exc:
            raise BinaryNotFoundError(
                f"{shown[0]} could not be started: {exc.strerror}", tool=shown[0]
            ) from exc
        for limit, value in inv.limits:
            # Set just after the start (a preexec_fn would cost vfork): the child has only
            # begun reading its input by then, so it cannot have grown past the limit.
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(child.pid, limit, (value, value))
        out = _Capped(self.max_output_bytes)
        err = _Capped(self.max_output_bytes)
        timed_out = False
        deadline = asyncio.timeout(inv.timeout)
        try:
            try:
                async with deadline, asyncio.TaskGroup() as tg:
                    if child.stdin is not None:
                        tg.create_task(_feed(child, inv.stdin or b""))
                    tg.create_task(out.drain(child.stdout))
                    tg.create_task(err.drain(child.stderr))
                    await child.wait()
            except TimeoutError:
                if not deadline.expired():
                    raise
                timed_out = True
        finally:
            # On timeout, cancellation or any error: nothing of the call may outlive it.
            _kill_group(child.pid)
            if child.returncode is None:  # reaped even when the call is being cancelled
                await _shielded(child.wait())
            child.close()
        duration_ms = int((time.monotonic() - started) * 1000)
        exit_code = TIMEOUT_EXIT_CODE if timed_out else (child.returncode or 0)
        stderr = err.text("stderr")
        if timed_out:
            stderr += f"\n[k8smcp: killed after the {inv.timeout:g}s timeout]\n"
        return ran(  # the service names the tool; here, the binary's name stands in
            tool=shown[0],
            argv=shown,
            exit_code=exit_code,
            stdout=out.text("stdout"),
            stderr=stderr,
            truncated=out.dropped > 0 or err.dropped > 0,
            timed_out=timed_out,
            duration_ms=duration_ms,
        )


class _Child:
    """A started child: its pipes (non-blocking, ours) and a pidfd to await its exit.

    Started in the loop's thread, or, when confined, by ``confine.Starter`` from a
    thread of its own that carries the Landlock rules.
    """

    def __init__(self, popen: subprocess.Popen[bytes], fds: tuple[int | None, int, int]) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.stdin, self.stdout, self.stderr = fds
        self._pidfd = os.pidfd_open(popen.pid)

    @classmethod
    async def start(
        cls,
        inv: Invocation,
        workdir: Path,
        env: dict[str, str],
        starter: Callable[[], confine.Starter],
    ) -> _Child:
        ours: list[int] = []
        theirs: list[int] = []
        try:
            if inv.stdin is not None:
                child_in, parent_in = os.pipe2(os.O_CLOEXEC)
                ours.append(parent_in)
                theirs.append(child_in)
            else:
                child_in = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                theirs.append(child_in)
            parent_out, child_out = os.pipe2(os.O_CLOEXEC)
            parent_err, child_err = os.pipe2(os.O_CLOEXEC)
            ours += [parent_out, parent_err]
            theirs += [child_out, child_err]
            kwargs: dict[str, Any] = {
                "cwd": str(workdir),
                "env": env,
                "stdin": child_in,
                "stdout": child_out,
                "stderr": child_err,
            }
            if inv.confinement is None:
                popen = subprocess.Popen(inv.argv, start_new_session=True, **kwargs)
            else:
                confinement = replace(
                    inv.confinement, writable=(str(workdir), *inv.confinement.writable)
                )
                popen = await starter().start(confinement, inv.argv, **kwargs)
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        for fd in ours:
            os.set_blocking(fd, False)
        return cls(popen, (ours[0] if inv.stdin is not None else None, ours[-2], ours[-1]))

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    async def wait(self) -> None:
        await _ready(self._pidfd)
        self.popen.wait()

    def close_stdin(self) -> None:
        if self.stdin is not None:
            fd, self.stdin = self.stdin, None
            os.close(fd)

    def close(self) -> None:
        """Close every descriptor (the child is reaped)."""
        self.close_stdin()
        for fd in (self.stdout, self.stderr, self._pidfd):
            os.close(fd)


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
        "KUBECONFIG": str(workdir / _KUBECONFIG),
    }


class _Capped:
    """Collects a stream up to a byte cap, counting (and discarding) what is past it."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.dropped = 0

    async def drain(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                await _ready(fd)
                continue
            if not chunk:
                return
            room = self.cap - len(self.buffer)
            if room > 0:
                self.buffer += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self, name: str) -> str:
        kept = whole_characters(self.buffer) if self.dropped else self.buffer
        text = kept.decode(errors="replace")
        if self.dropped:
            text += (
                f"\n[k8smcp: {name} truncated at {self.cap} bytes; "
                f"{self.dropped} more bytes dropped (K8SMCP_MAX_OUTPUT_BYTES)]\n"
            )
        return text


def whole_characters(data: bytes | bytearray) -> bytes | bytearray:
    """``data`` without a UTF-8 character that the cap cut in two (at most 3 bytes go)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # not a continuation byte: where the last character starts
            need = (
                2
                if byte >> 5 == 0b110
                else 3
                if byte >> 4 == 0b1110
                else 4
                if byte >> 3 == 0b11110
                else 1
            )
            return data[:-back] if need > back else data
    return data


async def _feed(child: _Child, data: bytes) -> None:
    fd = child.stdin
    assert fd is not None
    view = memoryview(data)
    try:
        while view:
            try:
                view = view[os.write(fd, view[:_CHUNK]) :]
            except BlockingIOError:
                await _ready(fd, write=True)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child exited without reading all of its input: its exit code tells
    finally:
        child.close_stdin()  # end of input


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in one of anyio's worker threads (imported only when a call needs one).

    A server's thread hops (DNS, long commands, big outputs, the file thread's work); a
    one-shot ``run`` makes none, and never imports anyio.
    """
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args)


async def _ready(fd: int, *, write: bool = False) -> None:
    """Wait until ``fd`` is readable (or writable) on the running loop."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def _shielded(work: Coroutine[Any, Any, None]) -> None:
    """Await ``work`` to its end even if this task is cancelled meanwhile, then re-raise.

    A cancelled call still reaps its killed child. The work runs as a task of its own
    that a cancellation of this one does not reach; anyio's cancel scopes (a server's
    cancelled MCP call) deliver the cancellation again each loop iteration, so each is
    absorbed until the work is done, and the cancellation then goes on as it came.
    """
    task = asyncio.ensure_future(work)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError as exc:
            if task.cancelled():  # the work itself (the loop is closing)
                raise
            cancelled = exc
    if cancelled is not None:
        raise cancelled


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


class _FileThread:
    """Does the private directories' file work off the loop and off the calls' path.

    One thread keeps ``spares`` new directories ready and removes used ones.

    ``close`` finishes the work queued and removes the spares; it also runs at exit (the
    interpreter joins the thread first, after the work queued before).
    """

    def __init__(self, spares: int) -> None:
        self._spares: deque[str] = deque()  # append and popleft are thread-safe
        self._wanted = spares
        self._thread: ThreadPoolExecutor | None = None

    def take(self) -> str | None:
        """A spare directory, or None; either way another is made for the next call."""
        try:
            spare: str | None = self._spares.popleft()
        except IndexError:
            spare = None
        self._submit(self._make_spare)
        return spare

    def remove(self, workdir: str | Path) -> None:
        """Remove ``workdir`` soon, in the thread (now, if the interpreter is exiting)."""
        if not self._submit(_remove, workdir):
            _remove(workdir)

    def close(self) -> None:
        """Wait for the work queued, then remove the spares; later work is done inline."""
        _OPEN.discard(self)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        while self._spares:
            _remove(self._spares.popleft())

    def _make_spare(self) -> None:
        if len(self._spares) < self._wanted:
            self._spares.append(_make_workdir(None))

    def _submit(self, work: Callable[..., None], *args: object) -> bool:
        if self._thread is None:
            from concurrent.futures import ThreadPoolExecutor

            self._thread = ThreadPoolExecutor(1, thread_name_prefix="k8smcp-files")
            _OPEN.add(self)
        try:
            self._thread.submit(work, *args)
        except RuntimeError:  # closed, or the interpreter is exiting: no new work
            return False
        return True


_OPEN: set[_FileThread] = set()  # file threads with work or spares, until closed


@atexit.register
def _close_all() -> None:
    """At exit, finish every file thread's work (one hook for all, not one per Executor)."""
    for files in list(_OPEN):
        files.close()


def _make_workdir(kubeconfig: bytes | None) -> str:
    """A new private directory (0700) with ``home``, ``tmp`` and the kubeconfig (0600)."""
    workdir = tempfile.mkdtemp(prefix="k8smcp-")  # mode 0700
    try:
        for name in ("home", "tmp"):
            os.mkdir(os.path.join(workdir, name), 0o700)
        if kubeconfig is not None:
            _write_private(os.path.join(workdir, _KUBECONFIG), kubeconfig)
    except BaseException:
        _remove(workdir)
        raise
    return workdir


def _write_private(path: str, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)


def _remove(workdir: str | Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
