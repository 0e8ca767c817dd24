"""A small ctypes layer over Linux Landlock: ABI probe, rulesets, restricting a thread.

Landlock is unprivileged and per thread: ``restrict`` confines the calling thread and
every process it starts from then on, never the rest of k8smcp. Only what k8smcp uses is
here: file-hierarchy rules (ABI 1-5 rights), TCP port rules (ABI 4) and the scopes of
ABI 6 (abstract Unix sockets, signals). The PyPI package ``landlock`` (1.0.0.dev5, a
pre-release) has no network rules or scopes, so this layer is our own.

Kernel reference: include/uapi/linux/landlock.h, Documentation/userspace-api/landlock.rst.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from functools import cache

# Syscall numbers are the same on every architecture (added after the table unification).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

# File rights, by the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FS_READ = FS_READ_FILE | FS_READ_DIR
FS_READ_EXEC = FS_READ | FS_EXECUTE
# What a rule on a regular file (not a directory) may grant.
_FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6


class LandlockError(OSError):
    """A Landlock call failed (the kernel lacks it, or a rule is malformed)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPortAttr(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"{what}: {os.strerror(errno)}")
    return result


@cache
def abi_version() -> int:
    """The Landlock ABI the kernel offers: 0 when it has none (or it is disabled)."""
    result = _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(result), 0)


def fs_rights(abi: int) -> int:
    """Every file right the ``abi`` knows (what a ruleset handles, so denies by default)."""
    best = max((k for k in _FS_BY_ABI if k <= abi), default=0)
    return _FS_BY_ABI.get(best, 0)


class Ruleset:
    """A Landlock ruleset being built; ``restrict`` applies it to the calling thread.

    Args:
        fs: file rights handled (denied unless a rule grants them).
        net: TCP rights handled (ABI 4).
        scoped: scopes (ABI 6).
    """

    def __init__(self, *, fs: int, net: int = 0, scoped: int = 0) -> None:
        attr = _RulesetAttr(fs, net, scoped)
        size = ctypes.c_size_t(ctypes.sizeof(attr))  # older kernels accept zeroed tail fields
        self.fs = fs
        self.fd = _check(
            _syscall(_CREATE_RULESET, ctypes.byref(attr), size, ctypes.c_uint32(0)),
            "landlock_create_ruleset",
        )

    def allow_paths(self, paths: Iterable[str], access: int) -> None:
        """Grant ``access`` beneath each existing path (missing paths are skipped)."""
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                wanted = access & self.fs
                if not os.path.isdir(path):
                    wanted &= _FS_FILE_ONLY
                attr = _PathBeneathAttr(wanted, fd)
                _check(
                    _syscall(
                        _ADD_RULE,
                        self.fd,
                        _RULE_PATH_BENEATH,
                        ctypes.byref(attr),
                        ctypes.c_uint32(0),
                    ),
                    f"landlock_add_rule({path})",
                )
            finally:
                os.close(fd)

    def allow_port(self, port: int, access: int) -> None:
        """Grant ``access`` (NET_BIND_TCP, NET_CONNECT_TCP) on a TCP port."""
        attr = _NetPortAttr(access, port)
        _check(
            _syscall(_ADD_RULE, self.fd, _RULE_NET_PORT, ctypes.byref(attr), ctypes.c_uint32(0)),
            f"landlock_add_rule(port {port})",
        )

    def restrict(self) -> None:
        """Confine the calling thread (and what it starts) to this ruleset, for good."""
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        _check(_syscall(_RESTRICT_SELF, self.fd, ctypes.c_uint32(0)), "landlock_restrict_self")

    def close(self) -> None:
        """Release the ruleset's descriptor (a domain made from it stays)."""
        os.close(self.fd)
