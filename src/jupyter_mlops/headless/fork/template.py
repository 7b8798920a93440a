"""The kernel template: a process that has imported a preload set and forks fresh kernels.

Run by the kernel's own interpreter as a script (``python template.py SOCKET LOCK ...``),
so it uses the standard library only and needs no jupyter-mlops in that environment.
It imports the preload modules and what every ipykernel imports as it starts, then serves one
request at a time on a Unix socket, in its only thread, with no ZMQ context: the
fork happens before any ZMQ socket or Python thread exists. A ``fork`` request
carries the kernel's command line, environment and working folder, and the
descriptors of its log file and of a status pipe (``SCM_RIGHTS``); the child leaves
the template's session and becomes ``ipykernel_launcher -f <its connection file>``
(``kernel_child.py``). The reply is the child's pid; the child's exit code goes to
the status pipe once the template has reaped it.

The template refuses to fork (and retires) when its environment changed (a
``sys.path`` entry's mtime: a package installed or removed), when a request needs
a module it did not preload, and after ``--max-forks`` forks or ``--max-mb`` of
memory; it exits after ``--idle`` seconds without a request.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Any

#: the request a forked child serves as a kernel (set in the child only)
_CHILD: dict[str, Any] | None = None
_MAX_REQUEST = 16 * 1024 * 1024
#: what every kernel imports as it starts (its debugger, shell, completer, history store,
#: event loop): imported once here instead of in each child (none of them starts a thread)
_KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "IPython.extensions.storemagic",
    "faulthandler",
    "importlib.resources.readers",
    "sqlite3",
    "tornado.platform.asyncio",
    "tornado.queues",
)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _os_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def _fingerprint() -> list[tuple[str, int]]:
    """Modification times of the import path: installing or removing a package changes one."""
    stamps = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
    return stamps


class Template:
    """The template's state and its request loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pid = os.getpid()
        self.started = time.time()
        self.forks = 0
        #: each live child's connection file (a retried request gets that child again) and
        #: status pipe (its exit code is written there once it is reaped)
        self.children: dict[int, tuple[str, int]] = {}
        #: written to by the SIGCHLD handler (``signal.set_wakeup_fd``): wakes the loop
        self.wake_r, self.wake_w = socket.socketpair()
        self.preloaded: list[str] = []
        self.failed: dict[str, str] = {}
        self.retiring = ""
        self.last = time.monotonic()
        self.fingerprint: list[tuple[str, int]] = []
        self.import_env: dict[str, str] = {}

    def preload(self, names: list[str]) -> None:
        # ipykernel sets MPLBACKEND when it starts; matplotlib reads it when imported.
        given = os.environ.get("MPLBACKEND")
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        before = set(os.environ)
        for name in [*_KERNEL_MODULES, *names]:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # a broken package must not stop the template
                self.failed[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            else:
                self.preloaded.append(name)
        if given is None:
            os.environ.pop("MPLBACKEND", None)
        # what the imports set (debugpy: PYDEVD_USE_FRAME_EVAL), a child sets again unless
        # its own environment has it, as those imports would in a launched kernel
        self.import_env = {k: v for k, v in os.environ.items() if k not in before}
        self.fingerprint = _fingerprint()

    def status(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "socket": self.args.socket,
            "python": sys.executable,
            "kernel": self.args.kernel,
            "project": self.args.project,
            "started": self.started,
            "forks": self.forks,
            "max_forks": self.args.max_forks,
            "children": sorted(self.children),
            "preload": [n for n in self.preloaded if n not in _KERNEL_MODULES],
            "preload_failed": self.failed,
            "rss_mb": round(_rss_mb(), 1),
            "max_mb": self.args.max_mb,
            "python_threads": threading.active_count(),
            "os_threads": _os_threads(),
            "idle_s": round(time.monotonic() - self.last, 1),
            "retiring": self.retiring,
        }

    def watch_children(self) -> None:
        """Wake the request loop when a child ends (it reaps outside the signal handler)."""
        for end in (self.wake_r, self.wake_w):
            end.setblocking(False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)

    def reap(self) -> None:
        """Collect ended children and hand each one's exit code to whoever started it."""
        with contextlib.suppress(OSError):
            while self.wake_r.recv(4096):
                pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:  # registered when forked: reaping happens only here
                _report(self.children.pop(pid)[1], os.waitstatus_to_exitcode(status))

    def drain(self) -> None:
        """After retiring: stay the parent of the kernels still running, until they end."""
        while self.children:
            select.select([self.wake_r], [], [], 1.0)
            self.reap()

    def why_not(self, need: list[str]) -> str:
        """Why the next fork must come from a new template ("" when this one may fork)."""
        if self.retiring:
            return self.retiring
        missing = [n for n in need if n not in self.preloaded and n not in self.failed]
        if missing:
            return "preload: " + ",".join(missing)
        if _fingerprint() != self.fingerprint:
            return "environment changed"
        if threading.active_count() > 1:
            return "a preloaded module started a thread"
        return ""

    def after_fork(self) -> None:
        self.forks += 1
        if self.forks >= self.args.max_forks:
            self.retiring = f"forked {self.forks} kernels"
        elif _rss_mb() > self.args.max_mb:
            self.retiring = f"memory over {self.args.max_mb} MB"

    def serve(self, listener: socket.socket) -> dict[str, Any] | None:
        """Answer requests until retired or idle; in a forked child, return its request."""
        while not self.retiring:
            ready, _, _ = select.select([listener, self.wake_r], [], [], 0.5)
            self.reap()
            ready = [r for r in ready if r is listener]
            if not ready:
                if time.monotonic() - self.last > self.args.idle:
                    self.retiring = "idle"
                continue
            conn, _ = listener.accept()
            with conn:
                job = self.answer(conn, listener)
            if job is not None:
                return job
        return None

    def answer(self, conn: socket.socket, listener: socket.socket) -> dict[str, Any] | None:
        conn.settimeout(30)
        try:
            request, fds = _read(conn)
        except (OSError, ValueError) as exc:
            _send(conn, {"error": f"bad request: {exc}"})
            return None
        op = request.get("op")
        if op == "status":
            _send(conn, {"status": self.status()})
        elif op == "retire":
            self.retiring = str(request.get("reason") or "asked to retire")
            _send(conn, {"status": self.status()})
        elif op == "fork":
            self.last = time.monotonic()
            connection = _connection_file(request)
            forked = [
                p for p, (file, _) in self.children.items() if connection and file == connection
            ]
            if forked and len(fds) == 2:
                # The client missed the reply and asked again: a second kernel on the same
                # connection file would take over the first one's sockets. The exit code
                # goes to the pipe of this request (the client closed the first one).
                os.close(fds[0])
                os.close(self.children[forked[0]][1])
                self.children[forked[0]] = (connection, fds[1])
                _send(conn, {"pid": forked[0]})
                return None
            reason = self.why_not([str(n) for n in request.get("need") or []])
            if reason or forked or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                # the client starts the template it needs; this one leaves the socket to it
                self.retiring = self.retiring or reason
                why = reason or "a fork request sends its log and status descriptors"
                _send(conn, {"refused": why, "status": self.status()})
                print(f"refused a fork: {why}", flush=True)
                return None
            return self.fork(conn, listener, request, fds[0], fds[1])
        else:
            _send(conn, {"error": f"unknown op {op!r}"})
        return None

    def fork(
        self,
        conn: socket.socket,
        listener: socket.socket,
        request: dict[str, Any],
        log_fd: int,
        status_fd: int,
    ) -> dict[str, Any] | None:
        ready_r, ready_w = os.pipe()
        # The template's objects outlive any child: out of the collector's sight, a child's
        # collections (IPython's full one at exit) walk only its own, shared pages unwritten.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            listener.close()
            signal.set_wakeup_fd(-1)
            for fd in (status_fd, *(fd for _, fd in self.children.values())):
                os.close(fd)  # a kernel's pipe ends when the template does, not when it does
            self.wake_r.close()
            self.wake_w.close()
            os.setsid()  # its own session and process group, as a launched kernel has
            os.write(ready_w, b"1")
            os.close(ready_w)
            return {**request, "log_fd": log_fd, "import_env": self.import_env}
        os.close(ready_w)
        os.close(log_fd)
        with contextlib.suppress(OSError):
            os.read(ready_r, 1)  # the child's process group exists before anyone signals it
        os.close(ready_r)
        connection = _connection_file(request)
        self.children[pid] = (connection, status_fd)
        self.after_fork()
        _send(conn, {"pid": pid})
        print(f"forked kernel {pid} ({connection}, {self.forks} so far)", flush=True)
        return None


def _report(status_fd: int, code: int) -> None:
    """Write a kernel's exit code to the pipe of the process that asked for the kernel."""
    with contextlib.suppress(OSError):
        os.write(status_fd, f"{code}\n".encode())
    os.close(status_fd)


def _connection_file(request: dict[str, Any]) -> str:
    argv = request.get("argv") or []
    return str(argv[4]) if len(argv) > 4 else ""


def _read(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 4)
    buf = bytearray(data)
    while buf and not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        if len(buf) > _MAX_REQUEST:
            raise ValueError("request too large")
    request = json.loads(buf)
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    return request, list(fds)


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps(message) + "\n").encode())


def _hold_lock(path: str, wait_s: float) -> Any:
    """Lock ``path`` for the template's life, waiting for a retiring one to let go."""
    deadline = time.monotonic() + wait_s
    fh = open(path, "a")  # noqa: SIM115 - held until the process exits
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() > deadline:
                fh.close()
                return None
            time.sleep(0.05)


def _listen(path: str) -> tuple[socket.socket, int]:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(previous)
    listener.listen(64)
    return listener, os.stat(path).st_ino


def _load_sibling(name: str) -> Any:
    """The module ``name`` of this file's folder, loaded by path (this is a script)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_mlops_fork_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    global _CHILD
    parser = argparse.ArgumentParser(prog="template.py")
    parser.add_argument("socket")
    parser.add_argument("lock")
    parser.add_argument("--preload", default="")
    parser.add_argument("--kernel", default="")
    parser.add_argument("--project", default="")
    parser.add_argument("--max-forks", type=int, default=200)
    parser.add_argument("--max-mb", type=float, default=2048.0)
    parser.add_argument("--idle", type=float, default=600.0)
    args = parser.parse_args(argv)
    lock = _hold_lock(args.lock, 30.0)
    if lock is None:
        print("another template holds the lock", flush=True)
        return 0
    template = Template(args)
    child = _load_sibling("kernel_child")
    template.preload([n for n in args.preload.split(",") if n])
    template.watch_children()
    signal.signal(signal.SIGTERM, lambda *_: setattr(template, "retiring", "terminated"))
    listener, inode = _listen(args.socket)
    print(f"template {os.getpid()} ready: {json.dumps(template.status())}", flush=True)
    try:
        _CHILD = template.serve(listener)
    finally:
        if os.getpid() == template.pid:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                if os.stat(args.socket).st_ino == inode:  # not a successor's socket
                    os.unlink(args.socket)
            lock.close()  # a successor may start while this one waits for its kernels
            print(f"template {os.getpid()} retired: {template.retiring}", flush=True)
    if _CHILD is None:
        template.drain()
        print(f"template {os.getpid()} exiting", flush=True)
        return 0
    lock.close()  # the child's copy of the lock descriptor; the template keeps its own
    child.become_kernel(_CHILD)
    return 0


if __name__ == "__main__":
    # The script's folder is not the kernel's import path.
    sys.path.pop(0)
    sys.exit(main())
