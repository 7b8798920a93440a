"""Where the warm worker of an environment listens, shared by the worker and its clients.

Cheap to import (standard library only): the CLI computes the address on every run.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..._version import __version__
from ...tracking.mlflow_bridge.store import MLFLOW_DEFAULTS

__all__ = [
    "NO_WORKER_ENV",
    "PROTOCOL",
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


def worker_dir() -> Path:
    """The folder of this user's worker sockets (short, so socket paths fit in 108 bytes)."""
    return Path(tempfile.gettempdir()) / f"jupyter-mlops-{os.getuid()}"


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


def lock_path(key: str) -> Path:
    """Held by the worker with ``key`` for its whole life (and while it starts)."""
    return worker_dir() / f"{key}.lock"


def private_dir() -> Path:
    """Create (or check) the worker folder: ours, mode 0700."""
    folder = worker_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user; remove it")
    if st.st_mode & 0o077:
        folder.chmod(0o700)
    return folder
