"""Finding, starting and retiring kernel templates; asking one for a forked kernel.

A template serves one project and one kernel spec (its interpreter), in one import
environment; its socket is ``<tmp>/jupyter-mlops-<uid>/fork-<key>.sock``, shared by
every process of the user (CLI runs, pipelines, Dask workers on this machine). When
the template refuses a fork (it lacks a module the notebook would preload, its
environment changed, it forked its share or grew too big), the client starts its
successor, preloading what the old one had plus what the notebook needs, and asks
again. Any failure means a normal kernel start: forking is only ever faster.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ...tracking.writing.run_context import NOTEBOOK_ENV
from ...tracking.writing.shared_runs import MLFLOW_RUN_ENV
from ...tracking.writing.tracker import RUN_ID_ENV
from ..worker.address import private_dir, worker_dir

__all__ = [
    "FORK_ENV",
    "ForkRequest",
    "all_templates",
    "fork_enabled",
    "fork_kernel",
    "retire_templates",
    "template_key",
]

log = logging.getLogger("jupyter_mlops")

#: ``0`` turns forked kernels off; ``1`` turns them on where fork is not the default
FORK_ENV = "MLOPS_FORK_KERNELS"
#: forks after which a template is replaced (its heap only grows)
MAX_FORKS_ENV = "MLOPS_FORK_MAX_FORKS"
#: resident megabytes above which a template is replaced
MAX_MB_ENV = "MLOPS_FORK_MAX_MB"
#: seconds without a fork after which a template exits
IDLE_ENV = "MLOPS_FORK_IDLE"
_DEFAULTS = {MAX_FORKS_ENV: 200.0, MAX_MB_ENV: 2048.0, IDLE_ENV: 600.0}
#: seconds a new template may take to import its preload set
_START_S = 120.0
_TEMPLATE_SCRIPT = Path(__file__).with_name("template.py")
#: the requests a template answers (a template of another release has another socket)
_PROTOCOL = "2"
#: variables of a run, not of the template (a template serves every run of its project)
_PER_RUN = (RUN_ID_ENV, MLFLOW_RUN_ENV, NOTEBOOK_ENV, "JPY_PARENT_PID")


def fork_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether kernels may be forked here: Linux (or ``MLOPS_FORK_KERNELS=1`` on POSIX)."""
    value = (env if env is not None else os.environ).get(FORK_ENV, "")
    if value == "0" or os.name != "posix" or not hasattr(socket, "send_fds"):
        return False
    return sys.platform.startswith("linux") or value == "1"


def _imports_env(env: Mapping[str, str]) -> list[str]:
    """The variables that change what an import does (search path, thread pools, backends)."""
    return [
        f"{k}={v}"
        for k, v in sorted(env.items())
        if k.startswith("PYTHON")
        or k.endswith("_NUM_THREADS")
        or k in {"MPLBACKEND", "LD_LIBRARY_PATH", "LD_PRELOAD", "MLOPS_HOME"}
    ]


def template_key(python: str, kernel_name: str, env: Mapping[str, str]) -> str:
    """Identify the template of one interpreter, kernel spec and project (``MLOPS_HOME``)."""
    parts = [_PROTOCOL, python, kernel_name, *_imports_env(env)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def _path(key: str, suffix: str) -> Path:
    return worker_dir() / f"fork-{key}.{suffix}"


@dataclass(frozen=True)
class ForkRequest:
    """One kernel to fork: its command line, environment, folder and log file."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str
    log_fd: int
    kernel_name: str
    need: Sequence[str]

    @property
    def python(self) -> str:
        return self.argv[0]


def _exchange(
    path: Path, message: Mapping[str, Any], fds: Sequence[int] = (), timeout: float = 30.0
) -> dict[str, Any] | None:
    """Send one request to the template at ``path``; its reply, or ``None`` if none answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            data = (json.dumps(message) + "\n").encode()
            if not fds:
                sock.sendall(data)
            else:
                sent = socket.send_fds(sock, [data], list(fds))
                # Only what is left: once a quick template has replied and closed, even an
                # empty send fails (EPIPE), and the reply waiting here would be lost.
                if sent < len(data):
                    sock.sendall(data[sent:])
            buf = bytearray()
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buf += chunk
            reply = json.loads(buf)
    except (OSError, ValueError):
        return None
    return reply if isinstance(reply, dict) else None


def fork_kernel(request: ForkRequest) -> tuple[int, int] | None:
    """Fork a kernel from the template of ``request``, or ``None`` (start it normally).

    Returns the kernel's pid and the read end of its status pipe, where the template
    (the kernel's parent) writes the exit code once the kernel has ended.
    """
    key = template_key(request.python, request.kernel_name, request.env)
    message = {
        "op": "fork",
        "argv": list(request.argv),
        "env": dict(request.env),
        "cwd": request.cwd,
        "need": list(request.need),
    }
    for _attempt in range(3):
        status_r, status_w = os.pipe()
        try:
            reply = _exchange(_path(key, "sock"), message, (request.log_fd, status_w))
        finally:
            os.close(status_w)  # the template holds its own copy
        if reply is not None and isinstance(reply.get("pid"), int):
            return int(reply["pid"]), status_r
        os.close(status_r)
        had = (reply or {}).get("status", {}).get("preload", [])
        if reply is not None:
            log.info("jupyter-mlops: kernel template refused a fork: %s", reply.get("refused"))
        preload = list(dict.fromkeys([*had, *request.need]))
        if not _ensure_template(key, request, preload):
            return None
    return None


@contextlib.contextmanager
def _start_lock(key: str) -> Iterator[None]:
    """One process at a time starts the template of ``key``."""
    private_dir()
    with _path(key, "start").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _usable(status: Mapping[str, Any] | None, need: Sequence[str]) -> bool:
    if not status or status.get("retiring"):
        return False
    have = set(status.get("preload") or []) | set(status.get("preload_failed") or {})
    return set(need) <= have


def _ensure_template(key: str, request: ForkRequest, preload: Sequence[str]) -> bool:
    """Make sure a template preloading ``request.need`` answers on ``key``'s socket."""
    sock = _path(key, "sock")
    with _start_lock(key):
        reply = _exchange(sock, {"op": "status"})
        current = reply.get("status") if reply else None
        if _usable(current, request.need):
            return True  # another process started it meanwhile
        if current is not None:
            _exchange(sock, {"op": "retire", "reason": "replaced"})
        process = _spawn(key, request, preload)
        return _wait_ready(sock, process)


def _number(name: str) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return _DEFAULTS[name]
    return value if value > 0 else _DEFAULTS[name]


def _spawn(key: str, request: ForkRequest, preload: Sequence[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in request.env.items() if k not in _PER_RUN}
    command = [
        request.python,
        str(_TEMPLATE_SCRIPT),
        str(_path(key, "sock")),
        str(_path(key, "lock")),
        "--preload",
        ",".join(preload),
        "--kernel",
        request.kernel_name,
        "--project",
        request.env.get("MLOPS_HOME", ""),
        "--max-forks",
        str(int(_number(MAX_FORKS_ENV))),
        "--max-mb",
        str(_number(MAX_MB_ENV)),
        "--idle",
        str(_number(IDLE_ENV)),
    ]
    log_file: IO[bytes]
    with _path(key, "log").open("ab") as log_file:
        return subprocess.Popen(
            command,
            env=env,
            cwd=env.get("MLOPS_HOME") or request.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # outlives this process; its children are sessions too
        )


def _wait_ready(sock: Path, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _START_S
    while time.monotonic() < deadline:
        reply = _exchange(sock, {"op": "status"}, timeout=5.0)
        if reply and reply.get("status", {}).get("pid") == process.pid:
            return True
        if process.poll() is not None:
            log.warning(
                "jupyter-mlops: the kernel template exited (code %s); see %s",
                process.returncode,
                sock.with_suffix(".log"),
            )
            return False
        time.sleep(0.05)
    log.warning("jupyter-mlops: the kernel template did not start in %.0f s", _START_S)
    return False


def _in(project: str, under: str | os.PathLike[str] | None) -> bool:
    if under is None:
        return True
    folder = Path(under).resolve()
    return bool(project) and (Path(project) == folder or folder in Path(project).parents)


def all_templates(under: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The status of every kernel template of this user that answers (of projects ``under``)."""
    found = []
    folder = worker_dir()
    for sock in sorted(folder.glob("fork-*.sock")) if folder.is_dir() else []:
        reply = _exchange(sock, {"op": "status"}, timeout=5.0)
        if reply and "status" in reply and _in(reply["status"].get("project", ""), under):
            found.append(reply["status"])
    return found


def retire_templates(
    under: str | os.PathLike[str] | None = None, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Ask the kernel templates (of projects ``under``) to stop; kernels they forked keep running.

    Returns the templates' last status, once they have stopped forking (or ``timeout``
    passed). A template whose kernels still run stays their parent until they end, so
    that their exit codes are known, and then exits.
    """
    from ...liveness import process_alive

    retired = []
    for status in all_templates(under):
        reply = _exchange(Path(status["socket"]), {"op": "retire", "reason": "stopped"})
        if reply and "status" in reply:
            retired.append(reply["status"])
    deadline = time.monotonic() + timeout
    for status in retired:
        while time.monotonic() < deadline and process_alive(int(status["pid"])):
            again = _exchange(Path(status["socket"]), {"op": "status"}, timeout=1.0)
            if not again or again.get("status", {}).get("pid") != status["pid"]:
                break  # it left the socket: it forks no more
            time.sleep(0.05)
    return retired
