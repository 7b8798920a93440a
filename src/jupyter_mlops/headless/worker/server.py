"""A warm worker for headless runs: ``python -m jupyter_mlops.headless.worker``.

A cold ``jupyter mlops run`` spends seconds importing MLflow, papermill and
nbconvert before any cell runs. The worker keeps them imported (and a spare
kernel started, see :mod:`.kernel_pool`) and serves runs on a Unix socket,
``<tmp>/jupyter-mlops-<uid>/<key>.sock`` (folder 0700, socket 0600), or where there are
none on loopback TCP with a secret token (:mod:`.transport`), one thread per request.
``<key>`` hashes the interpreter, the package version and every ``MLOPS_*`` /
``MLFLOW_*`` variable, so a client with another store or environment never reaches
this worker.

Protocol: one JSON line per message. The client sends a request (``op``:
``run``, ``status`` or ``stop``); for a run the worker answers ``accepted``,
then ``progress`` and ``alive`` lines, then one ``result`` (or ``error``) line.
A client that disconnects cancels its run. After ``MLOPS_WORKER_IDLE`` seconds
(default 600) without a run, or as soon as a module it loaded changed on disk
(an upgrade or an edit), the worker exits and removes its socket; the next run
starts a new one. Addresses are in :mod:`.address`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._version import __version__
from .address import PROTOCOL, endpoint_path, lock_path, private_dir, worker_key
from .outdated import CodeWatch, StoreWatch
from .transport import Listener

if TYPE_CHECKING:  # pragma: no cover
    from filelock import FileLock

__all__ = ["EXECUTOR_TAG", "IDLE_ENV", "Worker", "main"]

#: seconds without a request after which the worker exits
IDLE_ENV = "MLOPS_WORKER_IDLE"
DEFAULT_IDLE_S = 600.0
#: tag on runs executed by a worker (``worker``); absent on in-process runs
EXECUTOR_TAG = "mlops.executor"
#: seconds between ``alive`` lines while a run is going
ALIVE_EVERY_S = 5.0
_MAX_REQUEST = 64 * 1024 * 1024


class _Channel:
    """One client connection: JSON lines out, from several threads."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def send(self, message: Mapping[str, Any]) -> None:
        data = (json.dumps(message, default=str) + "\n").encode()
        with self._lock:
            try:
                self.conn.sendall(data)
            except OSError:
                self.closed.set()

    def read_request(self) -> dict[str, Any]:
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = self.conn.recv(65536)
            if not chunk:
                break
            buf += chunk
            if len(buf) > _MAX_REQUEST:
                raise ValueError("request too large")
        request = json.loads(buf)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        return request

    def watch_disconnect(self, on_close: Any) -> None:
        """Call ``on_close`` when the client goes away (it sends nothing after its request)."""

        def watch() -> None:
            with contextlib.suppress(OSError):
                while self.conn.recv(4096):
                    pass
            self.closed.set()
            on_close()

        threading.Thread(target=watch, name="mlops-worker-watch", daemon=True).start()


@dataclasses.dataclass
class _Job:
    notebook: str
    control: Any
    started: float = dataclasses.field(default_factory=time.time)


class Worker:
    """Serve headless runs on the socket of ``key`` until idle, stopped or outdated."""

    def __init__(self, key: str, idle_s: float, pool: Any) -> None:
        self.key = key
        self.path = endpoint_path(key)
        self._listener: Listener | None = None
        self.idle_s = idle_s
        self.pool = pool
        self.started = time.time()
        self.served = 0
        self.code = CodeWatch()
        self.stores = StoreWatch()
        self._jobs: dict[int, _Job] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_request = time.monotonic()
        self._checked = time.monotonic()

    def stop(self) -> None:
        """Stop accepting; running notebooks are cancelled (their runs end KILLED)."""
        self._stop.set()

    def serve(self) -> None:
        """Listen and answer until idle, stopped or outdated; then clean up."""
        listener = self._listener = Listener(self.key)
        print(f"worker {os.getpid()} listening on {listener.address}", flush=True)
        try:
            self._accept(listener)
        finally:
            listener.close()
            self._finish()

    def _accept(self, listener: Listener) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.sock.accept()
            except TimeoutError:
                if self._should_exit():
                    return
                continue
            thread = threading.Thread(
                target=self._serve_connection, args=(conn,), name="mlops-worker-request"
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _should_exit(self) -> bool:
        # Only runs count as activity: asking for the status keeps no worker alive.
        with self._lock:
            if self._jobs:
                return False
            idle = time.monotonic() - self._last_request
        if idle > self.idle_s:
            print(f"worker {os.getpid()}: idle for {idle:.0f} s, exiting", flush=True)
            return True
        if time.monotonic() - self._checked > 10:
            self._checked = time.monotonic()
            return self._outdated()
        return False

    def _outdated(self) -> bool:
        if not self.code.changed():
            return False
        print(f"worker {os.getpid()}: its code changed on disk, exiting", flush=True)
        self.stop()
        return True

    def _store_replaced(self, tracking_uri: str) -> bool:
        if not self.stores.replaced(tracking_uri):
            return False
        print(f"worker {os.getpid()}: the store {tracking_uri} was replaced, exiting", flush=True)
        self.stop()
        return True

    def _finish(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.control.cancel()
        for thread in self._threads:
            thread.join(timeout=60)
        self.pool.close()

    def _serve_connection(self, conn: socket.socket) -> None:
        channel = _Channel(conn)
        try:
            conn.settimeout(30)
            try:
                request = channel.read_request()
            except (OSError, ValueError) as exc:
                channel.send({"error": f"bad request: {exc}", "kind": "InvalidInput"})
                return
            conn.settimeout(None)
            if self._listener is not None and not self._listener.admits(request):
                print(f"worker {os.getpid()}: refused a request without its token", flush=True)
                channel.send({"refused": "this worker's token is missing or wrong"})
                return
            op = request.get("op")
            if op == "status":
                channel.send({"status": self.status()})
            elif op == "stop":
                channel.send({"stopping": self.status()})
                self.stop()
            elif op == "run":
                self._run(channel, request)
            else:
                channel.send({"error": f"unknown op {op!r}", "kind": "InvalidInput"})
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def status(self) -> dict[str, Any]:
        """What ``jupyter mlops worker status`` shows."""
        with self._lock:
            jobs = [
                {"notebook": j.notebook, "run_id": j.control.run_id, "since": j.started}
                for j in self._jobs.values()
            ]
            idle = time.monotonic() - self._last_request
        return {
            "pid": os.getpid(),
            "socket": str(self.path),
            "address": self._listener.address if self._listener else str(self.path),
            "key": self.key,
            "version": __version__,
            "python": sys.executable,
            "started": self.started,
            "runs_served": self.served,
            "running": jobs,
            "idle_s": round(idle, 1),
            "threads": threading.active_count(),
            "idle_timeout_s": self.idle_s,
            "spare_kernels_used": self.pool.hits,
            "fresh_kernels": self.pool.misses,
        }

    def _run(self, channel: _Channel, request: dict[str, Any]) -> None:
        from ..execution import ExecutionControl

        control = ExecutionControl()
        if request.get("protocol") != PROTOCOL:
            channel.send({"error": "client and worker differ; stop the worker", "kind": ""})
            return
        env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}
        if worker_key(env) != self.key:
            channel.send({"error": "this worker serves another environment", "kind": ""})
            return
        from ...errors import MlopsError

        try:
            settings = settings_for(str(request.get("notebook")), env)
        except MlopsError as exc:  # the client's settings are wrong: said as the client would
            channel.send({"error": str(exc), "kind": type(exc).__name__})
            return
        if self._stop.is_set() or self._outdated() or self._store_replaced(settings.tracking_uri):
            # Nothing started: the client runs it itself and starts a new worker.
            channel.send({"outdated": os.getpid()})
            return
        self.stores.record(settings.tracking_uri)
        channel.send({"accepted": os.getpid()})
        with self._lock:
            self._jobs[id(control)] = _Job(str(request.get("notebook")), control)
            self._last_request = time.monotonic()
        done = threading.Event()
        # A client that goes away mid-run cancels it; one that leaves after its result does not.
        channel.watch_disconnect(lambda: None if done.is_set() else control.cancel())
        threading.Thread(target=_keep_alive, args=(channel, done), daemon=True).start()
        try:
            outcome = _execute(request, env, settings, control, channel, self.pool)
            done.set()
            channel.send(outcome)
        finally:
            done.set()
            with self._lock:
                self._jobs.pop(id(control), None)
                self.served += 1
                self._last_request = time.monotonic()
            if not self._stop.is_set():
                self.pool.refill()


def _keep_alive(channel: _Channel, done: threading.Event) -> None:
    started = time.monotonic()
    while not done.wait(ALIVE_EVERY_S) and not channel.closed.is_set():
        channel.send({"alive": round(time.monotonic() - started, 1)})


def settings_for(notebook: str | os.PathLike[str], env: Mapping[str, str]) -> Any:
    """Settings of a client with environment ``env`` (this process's own is not used)."""
    from ...config import load_settings

    return load_settings(
        Path(notebook).parent,
        home=env.get("MLOPS_HOME") or None,
        tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
        data_uri=env.get("MLOPS_DATA_URI") or None,
        experiment=env.get("MLOPS_EXPERIMENT") or None,
    )


def _execute(
    request: Mapping[str, Any],
    env: dict[str, str],
    settings: Any,
    control: Any,
    channel: _Channel,
    pool: Any,
) -> dict[str, Any]:
    """Run one request as :func:`~.headless.execute_notebook` would in the client."""
    from ...errors import MlopsError
    from ..execution import execute_notebook

    def progress(event: Any) -> None:
        channel.send({"progress": dataclasses.asdict(event)})

    try:
        result = execute_notebook(
            request["notebook"],
            request.get("params") or {},
            experiment=request.get("experiment"),
            run_name=request.get("run_name"),
            output_path=request.get("output"),
            env=env,
            cwd=request.get("cwd"),
            kernel_name=request.get("kernel"),
            tags={EXECUTOR_TAG: "worker"},
            progress=progress if request.get("progress") else None,
            control=control,
            timeout=request.get("timeout"),
            settings=settings,
            inherit_env=False,
            kernels=pool,
        )
    except MlopsError as exc:
        return {"error": str(exc), "kind": type(exc).__name__}
    except Exception as exc:
        traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0]
        return {"error": f"{type(exc).__name__}: {first}", "kind": ""}
    return {
        "result": {
            "run_id": result.run_id,
            "status": result.status,
            "ok": result.ok,
            "output_path": str(result.output_path),
            "duration_s": result.duration_s,
            "message": result.message(),
        }
    }


def _warm_up(expect: Mapping[str, Any], pool: Any, stores: StoreWatch) -> None:
    """Import what runs need, render HTML once, open the store, start a spare kernel."""
    # As the CLI does: jsonschema's optional IRI check costs ~2 s of imports, unused here.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import mlflow  # noqa: F401
    import papermill  # noqa: F401

    from ...tracking.mlflow_bridge.store import open_client
    from ..kernel_launch import register_engine
    from ..recording import _html

    register_engine()
    notebook = expect.get("notebook")
    if not notebook:
        return
    settings = settings_for(notebook, os.environ)
    open_client(settings)
    stores.record(settings.tracking_uri)
    _expect_kernel(Path(notebook), expect, settings, pool)
    sample = settings.store_dir / f".worker-warm-{os.getpid()}.ipynb"
    try:
        empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        sample.write_text(json.dumps(empty))
        _html(sample)
    finally:
        sample.unlink(missing_ok=True)


def _expect_kernel(notebook: Path, expect: Mapping[str, Any], settings: Any, pool: Any) -> None:
    from ..execution import kernel_env
    from ..parameters import load_notebook_json

    spec = load_notebook_json(notebook).get("metadata", {}).get("kernelspec", {}) or {}
    kernel = expect.get("kernel") or spec.get("name")
    if not kernel:
        return
    cwd = str(Path(expect.get("cwd") or notebook.parent).resolve())
    env = kernel_env(settings, "", notebook, dict(os.environ), inherit=False)
    pool.expect(kernel, env, cwd)


def _idle_seconds() -> float:
    text = os.environ.get(IDLE_ENV, "")
    try:
        value = float(text) if text else DEFAULT_IDLE_S
    except ValueError:
        value = DEFAULT_IDLE_S
    return value if value > 0 else DEFAULT_IDLE_S


def main(argv: list[str] | None = None) -> int:
    """Start a worker for this process's environment (exits at once if one is running)."""
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.headless.worker")
    parser.add_argument("--notebook", help="start a spare kernel for this notebook")
    parser.add_argument("--kernel", help="kernel name of that notebook's runs")
    parser.add_argument("--cwd", help="working folder of that notebook's runs")
    args = parser.parse_args(argv)
    key = worker_key(os.environ)
    private_dir()
    lock = _hold_lock(key)
    if lock is None:
        print(f"a worker for this environment is already running ({endpoint_path(key)})")
        return 0
    from ..kernel_pool import KernelPool

    pool = KernelPool()
    worker = Worker(key, _idle_seconds(), pool)
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):  # Windows has no SIGHUP
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: worker.stop())
    try:
        _warm_up(vars(args), pool, worker.stores)
    except Exception:
        traceback.print_exc()  # runs still work; they report their own errors
    try:
        worker.serve()
    finally:
        lock.release()
    return 0


def _hold_lock(key: str) -> FileLock | None:
    """Lock the worker's lock file for this process's life; ``None`` if another holds it.

    ``filelock`` (``fcntl`` on POSIX, ``msvcrt`` on Windows). The file stays when released,
    so every worker of ``key`` locks the same file.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path(key), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return None
    return lock
