"""``k8smcp run`` handed to a warm process: the same command, without Python's start-up.

Most of a ``run`` is Python starting and k8smcp importing before the tool starts (bench
part ``percall``). On a terminal (or with ``K8SMCP_WARM=1``), ``run`` gives its command
line to a process of the same user that has done those imports once. It forks a worker
for each command, which takes the caller's arguments, environment, working directory,
umask and its standard input, output and error (passed over a Unix socket), and runs exactly
what ``run`` runs here (``k8smcp.__main__.command``). The caller passes on the signals it
gets (Ctrl-C) and exits with the worker's exit code.

A ``run`` that finds no warm process runs as usual and starts one for the next; that one
exits after ``K8SMCP_WARM_IDLE`` seconds (default 900) without a command. There is one per
user, runtime directory, Python and k8smcp code, at an abstract Unix socket whose name
says which: a confined child (Landlock ABI 6 scopes) cannot reach it, and each end
checks that the other is the same user (``SO_PEERCRED``) before anything is sent. Its
pid file is in a private directory (0700, ours, or no warm process at all):
``XDG_RUNTIME_DIR/k8smcp``, else ``/tmp/k8smcp-warm-<uid>``.

Who gets it (``wanted``): a person typing ``run`` (stderr is a terminal), unless
``K8SMCP_WARM=0``; scripts, pipes and CI only with ``K8SMCP_WARM=1``, since a process
left running surprises them (a job that waits for every process, a container's last).

This module is imported before anything else of k8smcp's on a ``run`` with
K8SMCP_WARM set, so the caller's side uses the standard library's cheapest modules only.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct
import sys
import zlib
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Mapping

_INT = struct.Struct("!i")  # the request's length
# to the caller: (b"P", the worker's pid) when the command begins, then (b"X", its exit code)
_MESSAGE = struct.Struct("!ci")
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
IDLE_SECONDS = 900.0
_MAX_REQUEST = 16 << 20  # bytes: argv and environment together are at most a few MiB
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def wanted(env: Mapping[str, str] = os.environ, terminal: bool | None = None) -> bool:
    """Whether ``run`` goes to the warm process: as ``K8SMCP_WARM`` says, else on a terminal.

    ``terminal``: whether stderr is a terminal (None: look).
    """
    value = env.get("K8SMCP_WARM", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return os.isatty(2) if terminal is None else terminal


def hand_over(argv: list[str]) -> None:
    """Run ``argv`` (the program's whole argv) in a warm worker and exit with its code.

    Returns when no warm process took the command (none yet: one is started for the
    next), so that the caller runs it itself.
    """
    try:
        _hand_over(argv)
    except KeyboardInterrupt:  # before the worker began: nothing ran
        raise SystemExit(130) from None


def _hand_over(argv: list[str]) -> None:
    if not _streams_open():
        return
    found = place()
    if found is None:
        return
    address, pid_file = found
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.ECONNREFUSED and not os.path.exists(_off(pid_file)):
            _start(pid_file)  # none yet: this run runs here, and starts one
        return  # else not for us (a confined caller: EPERM): it runs here
    try:
        # whoever holds the name must be the warm process our private directory names (not
        # another user, nor a confined process of ours squatting it): else tell it nothing
        peer_pid, peer_uid, _ = _peer(sock)
        if peer_uid != os.geteuid() or peer_pid != _pid_in(pid_file):
            sock.close()
            return
        request = _encode(argv)
        socket.send_fds(sock, [_INT.pack(len(request))], [0, 1, 2])
        sock.sendall(request)
        pid = _read(sock, b"P")
    except OSError:
        pid = None
    if pid is None:  # no worker began the command: it runs here
        sock.close()
        return
    for number in _SIGNALS:  # Ctrl-C reaches this process; the worker must get it
        if signal.getsignal(number) is not signal.SIG_IGN:  # as a cold run: ignored stays so
            signal.signal(number, lambda received, _frame: _kill(pid, received))
    _pass_on_job_control(pid)
    try:
        code = _read(sock, b"X")
    except OSError:
        code = None
    if code is None:
        sys.stderr.write("k8smcp: the warm process ended before the command did\n")
        raise SystemExit(1)
    raise SystemExit(code)


def _pass_on_job_control(pid: int) -> None:
    """Ctrl-Z stops the worker with this process, and ``fg``/``bg`` continue both.

    Else the command would go on writing to a terminal whose shell says it is stopped.
    """
    if signal.getsignal(signal.SIGTSTP) is signal.SIG_IGN:
        return

    def stop(_number: int, _frame: object) -> None:
        _kill(pid, signal.SIGSTOP)
        os.kill(os.getpid(), signal.SIGSTOP)  # as the default action of SIGTSTP would

    signal.signal(signal.SIGTSTP, stop)
    signal.signal(signal.SIGCONT, lambda _number, _frame: _kill(pid, signal.SIGCONT))


def _streams_open() -> bool:
    """Whether fds 0-2 are open: else the socket would become one and be sent as it."""
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def place() -> tuple[str, str] | None:
    """The warm process's socket (abstract) and pid file for this user, Python and code.

    The pid file's directory is ``XDG_RUNTIME_DIR/k8smcp`` when XDG_RUNTIME_DIR is ours
    and private (not the user's whose environment root kept), else
    ``/tmp/k8smcp-warm-<uid>``; None unless that directory is ours and private.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and _ours(runtime):
        directory = _private_subdirectory(runtime, "k8smcp", private_parent=True)
    else:
        uid = os.geteuid()
        directory = _private_subdirectory("/tmp", f"k8smcp-warm-{uid}")  # noqa: S108 - ours
    if directory is None:
        return None
    name = f"k8smcp-warm-{os.geteuid()}-{_fingerprint(directory)}"
    return f"\0{name}", os.path.join(directory, f"{name}.pid")


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _ours(path: str) -> bool:
    """Whether ``path`` is a private directory of ours (checked again when it is used)."""
    try:
        return _private_dir(os.stat(path))
    except OSError:
        return False


def _private_subdirectory(parent: str, name: str, *, private_parent: bool = False) -> str | None:
    """``parent/name``, made if missing, if it is ours and private (and ``parent`` too).

    Each is opened without following a link and checked by its descriptor, so nothing
    swapped in between is mistaken for it.
    """
    try:
        top = _private_directory(parent) if private_parent else os.open(parent, _DIRECTORY)
    except OSError:
        return None
    try:
        try:
            os.mkdir(name, 0o700, dir_fd=top)
        except FileExistsError:
            pass
        os.close(_private_directory(name, dir_fd=top))
    except OSError:
        return None
    finally:
        os.close(top)
    return os.path.join(parent, name)


def _private_directory(path: str, dir_fd: int | None = None) -> int:
    """``path``, a directory, opened without following a link if it is ours and private.

    Raises:
        OSError: it cannot be opened, or (PermissionError) it is not ours and private.
    """
    fd = os.open(path, _DIRECTORY, dir_fd=dir_fd)
    if not _private_dir(os.fstat(fd)):
        os.close(fd)
        raise PermissionError(f"{path} is not a private directory of ours")
    return fd


def _open_pid_file(pid_file: str, flags: int) -> int:
    """``pid_file`` opened by a descriptor of its directory (checked again), never a link."""
    directory, name = os.path.split(pid_file)
    top = _private_directory(directory)
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=top)
    finally:
        os.close(top)


def _pid_in(pid_file: str) -> int | None:
    """The pid the pid file holds, if it can be read."""
    try:
        fd = _open_pid_file(pid_file, os.O_RDONLY)
    except OSError:
        return None
    with open(fd, closefd=True) as file:
        text = file.read(32).strip()
    return int(text) if text.isdigit() else None


def _off(pid_file: str) -> str:
    """The file that says no warm process may serve here (see ``serve``)."""
    return pid_file.removesuffix(".pid") + ".off"


def _peer(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end, as the kernel saw it connect."""
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
    pid, uid, gid = _CREDENTIALS.unpack(credentials)
    return int(pid), int(uid), int(gid)


def _private_dir(found: os.stat_result) -> bool:
    import stat

    return (
        stat.S_ISDIR(found.st_mode)
        and found.st_uid == os.geteuid()
        and stat.S_IMODE(found.st_mode) & 0o077 == 0
    )


def _fingerprint(directory: str) -> str:
    """Which warm process: the directory, the code, and what a worker takes from it.

    The pid file's ``directory`` (callers with another XDG_RUNTIME_DIR, a test's or a
    bench's, get a warm process whose pid file they can see); Python, k8smcp's files
    (newest change, count) and the installed packages; and what a worker would otherwise
    take from the warm process
    rather than from its caller: what the interpreter and Typer read from the environment
    at start-up (PYTHON*, TYPER_*, K8SMCP_NO_SPEEDUPS), the groups, the resource limits
    and the cgroup. A caller whose differ gets a warm process of its own.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    newest = count = 0
    pending = [package]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
                    count += 1
    read_at_start = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(("PYTHON", "TYPER_")) or name == "K8SMCP_NO_SPEEDUPS"
    )
    key = f"{directory}\0{sys.executable}\0{package}\0{newest}\0{count}\0{read_at_start}"
    key += f"\0{_installed()}\0{sorted(os.getgroups())}\0{_limits()}\0{_cgroup()}"
    return f"{zlib.crc32(os.fsencode(key)):08x}"


def _installed() -> list[int]:
    """When the interpreter and each site-packages directory last changed.

    Installing, upgrading or removing a package adds and removes its ``.dist-info``
    directory, which changes its site-packages directory: a warm process must not go on
    with the libraries it imported before.
    """
    changed = []
    for path in (sys.executable, *(entry for entry in sys.path if entry.endswith("-packages"))):
        try:
            changed.append(os.stat(path).st_mtime_ns)
        except OSError:
            changed.append(0)
    return changed


def _limits() -> list[tuple[int, int]]:
    """The resource limits a tool would otherwise take from the warm process."""
    import resource

    names = ("NOFILE", "NPROC", "AS", "DATA", "FSIZE", "CPU", "CORE", "STACK", "MEMLOCK")
    return [resource.getrlimit(getattr(resource, f"RLIMIT_{name}")) for name in names]


def _cgroup() -> str:
    try:
        with open("/proc/self/cgroup") as file:
            return file.read()
    except OSError:
        return ""


def _encode(argv: list[str]) -> bytes:
    """argv, working directory, umask and environment, NUL-separated (none holds a NUL)."""
    umask = os.umask(0)
    os.umask(umask)
    fields = [os.getcwd(), str(umask), str(len(argv)), *argv]
    fields += [f"{name}={value}" for name, value in os.environ.items()]
    return b"\0".join(os.fsencode(field) for field in fields)


def _decode(data: bytes) -> tuple[list[str], str, int, dict[str, str]]:
    fields = [os.fsdecode(field) for field in data.split(b"\0")]
    cwd, umask, argc = fields[0], int(fields[1]), int(fields[2])
    argv = fields[3 : 3 + argc]
    env = dict(item.partition("=")[::2] for item in fields[3 + argc :])
    return argv, cwd, umask, env


def _read(sock: socket.socket, kind: bytes) -> int | None:
    """The number of the next message if it is a ``kind`` message, else None."""
    data = b""
    while len(data) < _MESSAGE.size:
        chunk = sock.recv(_MESSAGE.size - len(data))
        if not chunk:
            return None
        data += chunk
    got, number = _MESSAGE.unpack(data)
    return int(number) if got == kind else None


def _kill(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _start(pid_file: str) -> None:
    """Start the warm process (``pid_file`` names it) in the background, detached."""
    null = os.devnull
    try:
        os.posix_spawn(
            sys.executable,
            # -c, not -m: Click names the program from __main__ (run --help in a worker);
            # -P: not the caller's directory first on sys.path, where any file named as a
            # module (selectors.py, k8smcp/) would be imported in its place
            [sys.executable, "-P", "-c", "from k8smcp.cli.warm import main; main()", pid_file],
            os.environ,
            file_actions=[(os.POSIX_SPAWN_OPEN, fd, null, os.O_RDWR, 0) for fd in (0, 1, 2)],
            setsid=True,
            # not what this caller ignores or blocks (a background job ignores SIGINT):
            # every worker would inherit it, and Ctrl-C would reach no command
            setsigdef=_SIGNALS,
            setsigmask=(),
        )
    except OSError:
        pass  # no warm process: every run stays as it was


# --- the warm process ----------------------------------------------------------------


def serve(pid_file: str) -> socket.socket | None:
    """Serve until idle; in a worker, return its connection to the caller.

    Returns None in the warm process itself when it is done.
    """
    import gc
    import select

    from k8smcp import speedups

    speedups.startup()
    if not _scopes_confined_children():
        try:  # so that callers stop starting one
            os.close(_open_pid_file(_off(pid_file), os.O_WRONLY | os.O_CREAT))
        except OSError:
            pass
        return None
    _preload()
    found = place()  # what the caller found: the same code, the same name
    if found is None or found[1] != pid_file:
        return None
    listener = _listen(found[0], pid_file)
    if listener is None:
        return None
    idle = _idle_seconds()
    owner = os.getpid()  # the warm process; its workers return from this function too
    signal.signal(signal.SIGTERM, _stop)  # the pid file goes with the process
    gc.freeze()  # what the imports made: shared with every worker, never collected
    # epoll itself, not selectors: a caller's end is watched for its hang-up alone
    # (EPOLLRDHUP), since its request is still unread there, for the worker to read
    events = select.epoll()
    events.register(listener, select.EPOLLIN)
    workers: dict[int, tuple[int, socket.socket]] = {}  # pidfd: (pid, caller)
    callers: dict[int, int] = {}  # a caller's fd: its worker's pidfd
    try:
        while True:
            ready = events.poll(-1 if workers else idle)
            if not ready:
                return None  # idle
            ready.sort(key=lambda event: event[0] == listener.fileno())  # accept last
            for fd, _ in ready:
                if fd in callers:  # the caller is gone (killed): stop its command
                    events.unregister(fd)
                    worker = workers[callers.pop(fd)][0]
                    _kill(worker, signal.SIGINT)  # as Ctrl-C would
                    _kill(worker, signal.SIGCONT)  # if Ctrl-Z had stopped it
                elif fd == listener.fileno():
                    if _pid_in(pid_file) != owner:
                        # the pid file is gone (or another's): callers refuse this process,
                        # and start no other while it holds the name; leave
                        events.unregister(listener)
                        _unlisten(pid_file, listener)
                        if not workers:
                            return None
                        continue
                    caller = _accept(listener)
                    if caller is None:
                        continue
                    try:
                        pid = os.fork()
                    except OSError:  # no process to spare (a pids limit): it runs cold
                        caller.close()
                        continue
                    if pid == 0:  # the worker: nothing of the warm process's own
                        signal.signal(signal.SIGTERM, signal.SIG_DFL)
                        events.close()
                        listener.close()
                        for pidfd, (_, other) in workers.items():
                            other.close()
                            os.close(pidfd)
                        return caller
                    pidfd = os.pidfd_open(pid)
                    workers[pidfd] = (pid, caller)
                    events.register(pidfd, select.EPOLLIN)
                    events.register(caller, select.EPOLLRDHUP)
                    callers[caller.fileno()] = pidfd
                elif fd in workers:
                    events.unregister(fd)
                    pid, caller = workers.pop(fd)
                    os.close(fd)
                    if callers.pop(caller.fileno(), None) is not None:
                        events.unregister(caller)
                    _, status = os.waitpid(pid, 0)
                    code = os.waitstatus_to_exitcode(status)
                    try:
                        caller.sendall(_MESSAGE.pack(b"X", 128 - code if code < 0 else code))
                    except OSError:
                        pass  # the caller is gone
                    caller.close()
                    if listener.fileno() == -1 and not workers:
                        return None  # it stopped listening and its last command is done
    finally:
        if os.getpid() == owner:
            _unlisten(pid_file, listener)


def _stop(_number: int, _frame: object) -> None:
    raise SystemExit(0)


def _idle_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("K8SMCP_WARM_IDLE", IDLE_SECONDS)))
    except ValueError:
        return IDLE_SECONDS


def _preload() -> None:
    """Import what a ``run`` imports (and Typer, for its help and its errors)."""
    import asyncio  # noqa: F401

    from k8smcp import speedups

    speedups.import_yaml()
    import k8smcp.cli.fast  # noqa: F401
    import k8smcp.cli.work  # noqa: F401
    import k8smcp.log  # noqa: F401
    import k8smcp.output  # noqa: F401
    import k8smcp.service  # noqa: F401

    speedups.import_help_renderer()
    from k8smcp.cli import app  # noqa: F401

    # the tables a command line is read with, built on first use: built here, once
    k8smcp.cli.fast.parse("run", ["kubectl", "version"], lambda _name: None)


def _scopes_confined_children() -> bool:
    """Whether Landlock here keeps confined children off abstract sockets (ABI 6 scopes).

    Where Landlock confines but cannot scope (ABI 1-5), a CLI that k8smcp confines could
    reach a warm process and have it run a command unconfined: no warm process there.
    """
    from k8smcp import landlock

    return not 0 < landlock.abi_version() < 6


def _listen(address: str, pid_file: str) -> socket.socket | None:
    """The listening socket, or None when another process has the name.

    The pid file is written before anyone can connect: a caller checks it names the
    process at the other end.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address)
    except OSError:  # in use: another warm process of this code (or a squatter, refused)
        listener.close()
        return None
    try:
        fd = _open_pid_file(pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with open(fd, "w", closefd=True) as file:
            file.write(f"{os.getpid()}\n")
        listener.listen(64)
    except OSError:
        listener.close()
        return None
    return listener


def _unlisten(pid_file: str, listener: socket.socket) -> None:
    """Remove the pid file if it is still ours, then close the socket.

    In that order: while the name is held no other warm process can write the file.
    """
    if _pid_in(pid_file) == os.getpid():
        directory, name = os.path.split(pid_file)
        try:
            top = _private_directory(directory)
            try:
                os.unlink(name, dir_fd=top)
            finally:
                os.close(top)
        except OSError:
            pass
    listener.close()


def _accept(listener: socket.socket) -> socket.socket | None:
    """The next caller, if it is this user, as free as this process (else closed on)."""
    try:
        caller, _ = listener.accept()
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):
            import time

            time.sleep(0.1)  # the connection waits; level-triggered, it would spin
        return None
    pid, uid, gid = _peer(caller)
    if uid != os.geteuid() or gid != os.getegid() or not _as_free_as_us(caller, pid):
        caller.close()
        return None
    return caller


_NAMESPACES = ("mnt", "user", "pid", "cgroup", "ipc", "uts")
_STATUS = (b"NoNewPrivs:", b"Seccomp:", b"Seccomp_filters:", b"Cap")
_SO_PEERPIDFD = 77  # Linux 6.5; not named by Python 3.11's socket module


def _as_free_as_us(caller: socket.socket, pid: int) -> bool:
    """Whether process ``pid`` (at ``caller``) is as free as this one.

    The same namespaces, no_new_privs, seccomp, capabilities and security label: a
    process of this user inside a sandbox (bubblewrap, a mount namespace, seccomp, a
    CLI k8smcp confined: Landlock sets no_new_privs) may not have the warm process run a
    command for it outside that sandbox. Where the kernel gives the caller's pidfd, it
    must still be alive after the reads (its pid was not taken by another meanwhile).
    """
    if pid <= 0:  # in a pid namespace we cannot see
        return False
    try:
        found = caller.getsockopt(socket.SOL_SOCKET, _SO_PEERPIDFD, 4)
        pidfd = int.from_bytes(found, sys.byteorder)
    except OSError:
        pidfd = -1
    try:
        for name in _NAMESPACES:
            if os.readlink(f"/proc/{pid}/ns/{name}") != os.readlink(f"/proc/self/ns/{name}"):
                return False
        if _status(f"/proc/{pid}/status") != _status("/proc/self/status"):
            return False
        if _label(f"/proc/{pid}") != _label("/proc/self"):
            return False
        if pidfd != -1:
            signal.pidfd_send_signal(pidfd, 0)  # ProcessLookupError: gone, maybe reused
        return True
    except OSError:
        return False
    finally:
        if pidfd != -1:
            os.close(pidfd)


def _label(proc: str) -> bytes:
    """The process's security label (AppArmor, SELinux), if the kernel has one."""
    try:
        with open(f"{proc}/attr/current", "rb") as file:
            return file.read()
    except OSError:
        return b""


def _status(path: str) -> list[bytes]:
    with open(path, "rb") as file:
        return [line for line in file if line.startswith(_STATUS)]


def work(caller: socket.socket) -> NoReturn:
    """In a worker: take the caller's command and run it as ``run`` runs, then exit."""
    head, fds, _, _ = socket.recv_fds(caller, _INT.size, 3)
    try:
        if len(head) != _INT.size or len(fds) != 3:
            raise SystemExit(1)
        (size,) = _INT.unpack(head)
        if not 0 < size <= _MAX_REQUEST:
            raise SystemExit(1)
        data = b""
        while len(data) < size:
            chunk = caller.recv(min(size - len(data), 1 << 20))
            if not chunk:
                raise SystemExit(1)
            data += chunk
        argv, cwd, umask, env = _decode(data)
        os.chdir(cwd)
        os.umask(umask)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
    finally:
        for fd in fds:
            if fd > 2:
                os.close(fd)
    caller.sendall(_MESSAGE.pack(b"P", os.getpid()))  # the command begins
    caller.close()
    _become(argv, env)
    from k8smcp.__main__ import command

    try:
        command(argv[1:])
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # as the interpreter does with an exception nobody caught
        sys.excepthook(*sys.exc_info())
        code = 1
    _leave(code)


def _exit_code(code: object) -> int:
    """What the interpreter exits with for ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _leave(code: int) -> NoReturn:
    """Exit as the interpreter would, without tearing down the warm process's modules.

    A normal exit clears every module the warm process imported, touching (and so
    copying) most of its memory: about 20 ms a command. Exit handlers and the streams'
    buffers are all that exit must do here.
    """
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's, since 2.x
    if run_exit_handlers is not None:
        run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: what exit would report, nobody reads
    os._exit(code)


def _become(argv: list[str], env: dict[str, str]) -> None:
    """This process's environment, argv and standard streams, as the caller's."""
    import tempfile

    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # found again from this TMPDIR when first needed
    sys.argv = argv
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        old = getattr(sys, name)
        interactive = os.isatty(fd)
        stream = open(  # noqa: SIM115 - the process's own stream, open until it exits
            fd,
            "r" if fd == 0 else "w",
            encoding=old.encoding,
            errors=old.errors,
            closefd=False,
            buffering=-1,
        )
        if fd:
            stream.reconfigure(line_buffering=interactive or fd == 2, write_through=unbuffered)
        setattr(sys, name, stream)


def main() -> None:
    """The warm process whose pid file is ``sys.argv[1]`` (started by ``hand_over``)."""
    # nothing its starter's parent passed on: a pipe held open here would never end
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir("/")  # nor its directory: it could not be unmounted while this lives
    caller = serve(sys.argv[1])
    if caller is not None:
        work(caller)
