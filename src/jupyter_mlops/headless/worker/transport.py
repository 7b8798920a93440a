"""How a warm worker and its clients reach each other: a Unix socket, or loopback TCP.

Which one is :func:`~jupyter_mlops.portability.posix`'s answer (``MLOPS_TEST_NON_POSIX=1``
takes the TCP branch on a POSIX machine, so the tests run it here):

- **POSIX**: the socket ``<tmp>/jupyter-mlops-<uid>/<key>.sock``, mode 0600 in a 0700
  folder. The file system lets no other user connect, so a request needs no secret.
- **Elsewhere** (Windows, where ``AF_UNIX`` is not guaranteed): the worker listens on
  ``127.0.0.1`` at a port the system picks and writes ``<key>.tcp`` beside it, created
  0600 (:func:`~jupyter_mlops.atomic_files.write_atomic`): its port, pid and a secret token
  (``secrets.token_hex``) drawn anew by every worker. Any local process may connect to a
  loopback port; only this user can read the token. A client sends it in every request,
  and the worker compares it in constant time (``hmac.compare_digest``) and refuses a
  request without it, before reading anything else. A client connects only while the pid
  the file names is alive, and a token dies with its worker: a stale file whose port
  another program took leaks nothing that opens a worker.

Cheap to import (standard library only): the CLI looks for a worker on every run.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...atomic_files import write_atomic
from ...liveness import process_alive
from ...portability import posix
from .address import endpoint_path, worker_dir

__all__ = ["TOKEN_FIELD", "Listener", "connect", "endpoint_keys"]

#: the request field carrying the token (loopback TCP only)
TOKEN_FIELD = "token"
_LOOPBACK = "127.0.0.1"


class Listener:
    """The worker's listening socket and the file that tells clients where it is.

    Parameters
    ----------
    key : str
        The worker key (:func:`~.address.worker_key`) of this environment.
    """

    def __init__(self, key: str) -> None:
        self.path = endpoint_path(key)
        self._token: str | None = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a dead worker's: the caller holds the worker lock now
        self.sock = _listen_unix(self.path) if posix() else self._listen_tcp()
        self.sock.settimeout(0.5)

    def _listen_tcp(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other socket may share it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        sock.bind((_LOOPBACK, 0))
        sock.listen(64)
        self._token = secrets.token_hex(32)
        port = sock.getsockname()[1]
        record = {"port": port, "pid": os.getpid(), TOKEN_FIELD: self._token}
        write_atomic(self.path, json.dumps(record), private=True)
        return sock

    @property
    def address(self) -> str:
        """Where clients connect: the socket's path or ``127.0.0.1:<port>``."""
        if self._token is None:
            return str(self.path)
        return f"{_LOOPBACK}:{self.sock.getsockname()[1]}"

    def admits(self, request: Mapping[str, Any]) -> bool:
        """Whether ``request`` may be served: always on a Unix socket, else with the token."""
        if self._token is None:
            return True
        given = request.get(TOKEN_FIELD)
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode(), self._token.encode())

    def close(self) -> None:
        """Stop listening and remove the socket or address file."""
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _listen_unix(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(previous)
    path.chmod(0o600)
    sock.listen(64)
    return sock


def connect(key: str, timeout: float) -> tuple[socket.socket, dict[str, str]] | None:
    """Connect to the worker of ``key``; ``None`` when none listens.

    Returns
    -------
    tuple of socket and dict, or None
        The connected socket, and the fields every request on it must carry (the token on
        loopback TCP, nothing on a Unix socket).
    """
    path = endpoint_path(key)
    if posix():
        return _connect_unix(path, timeout)
    try:
        record = json.loads(path.read_text())
        port, pid, token = int(record["port"]), int(record["pid"]), str(record[TOKEN_FIELD])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no worker, one still writing its file, or not ours to read
    if not process_alive(pid):
        return None
    try:
        sock = socket.create_connection((_LOOPBACK, port), timeout=timeout)
    except OSError:
        return None
    sock.settimeout(timeout)
    return sock, {TOKEN_FIELD: token}


def _connect_unix(path: Path, timeout: float) -> tuple[socket.socket, dict[str, str]] | None:
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock, {}


def endpoint_keys() -> list[str]:
    """Keys of this user's workers that published where they listen (alive or not)."""
    folder = worker_dir()
    if not folder.is_dir():
        return []
    suffix = endpoint_path("probe").suffix
    return sorted(p.stem for p in folder.glob(f"*{suffix}"))
