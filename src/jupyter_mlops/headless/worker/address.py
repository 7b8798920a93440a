"""Where the warm worker of an environment listens, shared by the worker and its clients.

Cheap to import (standard library only): the CLI computes the address on every run.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..._version import __version__
from ...portability import posix
from ...tracking.mlflow_bridge.store import MLFLOW_DEFAULTS

__all__ = [
    "NO_WORKER_ENV",
    "PROTOCOL",
    "endpoint_path",
    "lock_path",
    "private_dir",
    "socket_path",
    "worker_dir",
    "worker_key",
]

#: version of the JSON-lines protocol between client and worker
PROTOCOL = 1
#: set to 1 to never use (nor start) a worker
NO_WORKER_ENV = "MLOPS_NO_WORKER"
_KEY_PREFIXES = ("MLOPS_", "MLFLOW_")


def _user() -> str:
    """This user, as a file name: the uid where there is one, else the login name."""
    if hasattr(os, "getuid"):
        return str(os.getuid())
    return re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser())


def worker_dir() -> Path:
    """The folder of this user's worker sockets (short, so socket paths fit in 108 bytes)."""
    return Path(tempfile.gettempdir()) / f"jupyter-mlops-{_user()}"


def worker_key(env: Mapping[str, str]) -> str:
    """Identify the worker for a client environment ``env``."""
    parts = [sys.executable, __version__]
    parts += [
        f"{k}={v}"
        for k, v in sorted(env.items())
        # our own defaults do not make an environment different
        if k.startswith(_KEY_PREFIXES) and MLFLOW_DEFAULTS.get(k) != v
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def socket_path(key: str) -> Path:
    """The socket of the worker with ``key``."""
    return worker_dir() / f"{key}.sock"


def endpoint_path(key: str) -> Path:
    """Where the worker with ``key`` can be reached: its Unix socket, or its address file.

    The address file (loopback TCP, where :func:`~jupyter_mlops.portability.posix` is false)
    holds the worker's port, pid and secret token; see :mod:`.transport`.
    """
    return socket_path(key) if posix() else worker_dir() / f"{key}.tcp"


def lock_path(key: str) -> Path:
    """Held by the worker with ``key`` for its whole life (and while it starts)."""
    return worker_dir() / f"{key}.lock"


def private_dir() -> Path:
    """Create (or check) the worker folder: ours, mode 0700.

    Where there are no uids (Windows) the folder is in the user's own temporary folder,
    which the user's profile permissions already keep from other users.
    """
    folder = worker_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    if not hasattr(os, "getuid"):
        return folder
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user; remove it")
    if st.st_mode & 0o077:
        folder.chmod(0o700)
    return folder
