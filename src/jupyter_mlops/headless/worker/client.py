"""Talking to the warm worker of :mod:`.worker` from a short-lived process (the CLI).

Cheap to import: no MLflow, papermill or jupyter_client here. A run goes to the
worker when one answers for this environment; otherwise the caller runs it
in-process and :func:`spawn_worker` starts a worker for next time.
``MLOPS_NO_WORKER=1`` turns all of this off.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import errors
from ...errors import MlopsError
from ...liveness import process_alive
from ..progress import Progress, ProgressCallback
from .address import NO_WORKER_ENV, PROTOCOL, lock_path, private_dir, worker_dir, worker_key
from .transport import connect, endpoint_keys

__all__ = [
    "WorkerError",
    "WorkerResult",
    "run_request",
    "run_via_worker",
    "spawn_worker",
    "stop_worker",
    "worker_status",
    "workers_disabled",
]

#: seconds to wait for a worker to accept a connection
CONNECT_TIMEOUT_S = 2.0
#: seconds of silence after which a worker is taken for hung (it says ``alive`` every 5 s)
SILENCE_S = 60.0
#: log of detached workers, under the project's ``.mlops/``
LOG_NAME = "worker.log"
#: ``Popen`` flags that detach the worker on Windows (0 elsewhere, as POSIX requires)
_DETACHED = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
    subprocess, "DETACHED_PROCESS", 0
)


class WorkerError(MlopsError):
    """The worker went away or stopped answering in the middle of a run."""


@dataclass(frozen=True)
class WorkerResult:
    """The outcome of a run executed by a worker (what the CLI prints and returns)."""

    run_id: str
    status: str
    ok: bool
    output_path: str
    duration_s: float
    message: str


def workers_disabled() -> bool:
    """Whether ``MLOPS_NO_WORKER`` is set to a true value."""
    return os.environ.get(NO_WORKER_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _absolute(path: str | os.PathLike[str] | None) -> str | None:
    # Joined, not resolved: the worker resolves it exactly as this process would.
    if path is None:
        return None
    return os.path.join(os.getcwd(), os.path.expanduser(os.fspath(path)))


def run_request(
    notebook: str | os.PathLike[str],
    params: Mapping[str, Any],
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any] | None:
    """Build a run request, or ``None`` when it should run in-process.

    In-process are requests whose errors quote the argument as typed (an
    ``--output`` not ending in ``.ipynb``) and parameters JSON cannot carry
    (YAML dates): the in-process path reports or handles them as it always did.
    """
    if output is not None and not os.fspath(output).endswith(".ipynb"):
        return None
    try:
        json.dumps(dict(params))
    except (TypeError, ValueError):
        return None
    return {
        "notebook": _absolute(notebook),
        "params": dict(params),
        "experiment": experiment,
        "run_name": run_name,
        "output": _absolute(output),
        "kernel": kernel,
        "cwd": _absolute(cwd),
        "timeout": timeout,
    }


def _messages(sock: socket.socket) -> Any:
    """Yield JSON messages until the worker closes the connection."""
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)


def _ask(op: str, key: str | None = None) -> dict[str, Any] | None:
    """Send ``op`` (``status``/``stop``) to the worker of ``key``; ``None`` if none answers."""
    connection = connect(key or worker_key(os.environ), CONNECT_TIMEOUT_S)
    if connection is None:
        return None
    sock, credentials = connection
    with sock:
        try:
            sock.settimeout(SILENCE_S)
            request = {"op": op, "protocol": PROTOCOL, **credentials}
            sock.sendall(json.dumps(request).encode() + b"\n")
            for message in _messages(sock):
                return dict(message)
        except (OSError, ValueError):
            return None
    return None


def _raise(message: Mapping[str, Any]) -> None:
    kind = getattr(errors, str(message.get("kind") or ""), None)
    cls = kind if isinstance(kind, type) and issubclass(kind, MlopsError) else WorkerError
    raise cls(str(message["error"]))


def run_via_worker(
    request: Mapping[str, Any], progress: ProgressCallback | None = None
) -> WorkerResult | None:
    """Execute ``request`` (from :func:`run_request`) in the warm worker.

    Returns
    -------
    WorkerResult or None
        ``None`` when no worker answers for this environment (nothing was started).

    Raises
    ------
    MlopsError
        The same errors as an in-process run (bad parameters, unknown kernel ...), or
        :class:`WorkerError` when the worker dies or goes silent in the middle of the run.
    """
    if workers_disabled():
        return None
    connection = connect(worker_key(os.environ), CONNECT_TIMEOUT_S)
    if connection is None:
        return None
    sock, credentials = connection
    payload = {
        "op": "run",
        "protocol": PROTOCOL,
        **request,
        **credentials,
        "progress": progress is not None,
        "env": dict(os.environ),
    }
    with sock:
        try:
            sock.settimeout(SILENCE_S)
            sock.sendall(json.dumps(payload).encode() + b"\n")
            return _follow(sock, progress, str(request.get("notebook")))
        except _NotAccepted:
            return None


class _NotAccepted(Exception):
    """The worker closed the connection before taking the run: nothing happened."""


def _follow(
    sock: socket.socket, progress: ProgressCallback | None, notebook: str
) -> WorkerResult | None:
    accepted: int | None = None
    try:
        for message in _messages(sock):
            if "accepted" in message:
                accepted = int(message["accepted"])
            elif "progress" in message:
                if progress is not None:
                    progress(Progress(**message["progress"]))
            elif "result" in message:
                return WorkerResult(**message["result"])
            elif "error" in message:
                _raise(message)
            elif "outdated" in message:
                _wait_exit(int(message["outdated"]), 10.0)
                raise _NotAccepted
            elif "refused" in message:  # not this worker's token: it ran nothing
                raise _NotAccepted
    except (OSError, ValueError) as exc:
        if accepted is None:
            raise _NotAccepted from None
        reason = "stopped answering" if isinstance(exc, TimeoutError) else "went away"
        raise WorkerError(_lost(accepted, notebook, reason)) from None
    if accepted is None:
        raise _NotAccepted
    raise WorkerError(_lost(accepted, notebook, "went away"))


def _lost(pid: int, notebook: str, reason: str) -> str:
    return (
        f"the warm worker (pid {pid}) {reason} while running {Path(notebook).name}; "
        f"its log is .mlops/{LOG_NAME}; run again, or set {NO_WORKER_ENV}=1 to run in this process"
    )


def _starting(key: str) -> bool:
    """Whether a worker for ``key`` holds its lock (running, or importing before it listens)."""
    from filelock import FileLock, Timeout

    path = lock_path(key)
    if not path.exists():  # no worker ever ran here: create nothing
        return False
    probe = FileLock(path, timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def spawn_worker(
    store_dir: Path,
    notebook: str | None = None,
    *,
    kernel: str | None = None,
    cwd: str | None = None,
) -> int | None:
    """Start a detached worker for this environment unless one runs; return its pid.

    Its output goes to ``<store_dir>/worker.log``. With ``notebook`` it starts a
    spare kernel for that notebook's next run as soon as it is warm.
    """
    if workers_disabled():
        return None
    key = worker_key(os.environ)
    try:
        private_dir()
        if _starting(key):
            return None
        store_dir.mkdir(parents=True, exist_ok=True)
        log_file = store_dir / LOG_NAME
        mode = "w" if log_file.is_file() and log_file.stat().st_size > 1_000_000 else "a"
        cmd = [sys.executable, "-m", "jupyter_mlops.headless.worker"]
        for flag, value in (("--notebook", notebook), ("--kernel", kernel), ("--cwd", cwd)):
            if value:
                cmd += [flag, value]
        with log_file.open(mode) as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=worker_dir(),
                start_new_session=True,  # POSIX: not in the terminal's process group
                creationflags=_DETACHED,  # Windows: the same, and no console of its own
            )
    except OSError:
        return None  # best effort: this run works without one
    return proc.pid


def wait_for_worker(timeout: float = 120.0) -> dict[str, Any] | None:
    """Wait until the worker for this environment answers; return its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = worker_status()
        if status is not None:
            return status
        time.sleep(0.2)
    return None


def worker_status(key: str | None = None) -> dict[str, Any] | None:
    """Status of the worker for this environment (or ``key``); ``None`` if none answers."""
    reply = _ask("status", key)
    return reply.get("status") if reply else None


def all_workers() -> list[dict[str, Any]]:
    """Status of every worker of this user that answers."""
    found = []
    for key in endpoint_keys():
        status = worker_status(key)
        if status is not None:
            found.append(status)
    return found


def stop_worker(key: str | None = None, timeout: float = 60.0) -> dict[str, Any] | None:
    """Stop the worker for this environment (or ``key``) and wait until it has exited.

    Notebooks it is running are cancelled (their runs end KILLED). Returns the
    worker's last status, or ``None`` when no worker answered.
    """
    reply = _ask("stop", key)
    if not reply or "stopping" not in reply:
        return None
    status = dict(reply["stopping"])
    pid, path = int(status["pid"]), Path(status["socket"])
    _wait_exit(pid, timeout)
    deadline = time.monotonic() + 5
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    status["exited"] = not process_alive(pid)
    return status


def _wait_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
