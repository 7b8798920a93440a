"""``serve --workers N``: N forked processes on one listening socket, one decision loop.

The parent loads the versions, binds the port and forks the workers (POSIX
``fork``: the loaded models are shared copy-on-write). Each worker answers
requests, appends to the prediction log and counts its requests in Prometheus
multiprocess files in a folder of this server's own (removed when it stops), so
``GET /metrics`` on any worker shows every worker's requests summed. The
parent serves nothing: it runs the one background loop (drift, live
performance, alerts, the rollout decision), reading the window from the
prediction log every worker writes and the request figures from the summed
metrics; a promotion or rollback it decides is written to ``serving.json`` in
that folder, which every worker reads each interval and applies to its own
state. With ``--follow-alias`` the parent notices the alias moved, loads the
new version from a copy of its model folder kept in that folder and names it
in ``serving.json``; each worker loads the same copy off its request path and
then swaps it in whole, so requests in flight finish on the version they began
with and none fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..prediction_log import CHAMPION, LogWriter, PredictionLog
from .app import ServeState
from .loaded import Loaded, freeze_heap, load_kept
from .metrics import MULTIPROC_ENV

__all__ = [
    "LogWindow",
    "apply_decision",
    "metrics_folder",
    "release_metrics_folder",
    "run_workers",
    "write_decision",
]

_DECISION = "serving.json"
#: a worker's copies of the parent's database connections (never used, never closed)
_INHERITED: list[Any] = []


def metrics_folder() -> Path:
    """A new folder for this server's multiprocess metrics, set before any metric exists."""
    from prometheus_client import values

    folder = Path(tempfile.mkdtemp(prefix="mlops-serve-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    # the value class is chosen from the variable when prometheus_client is imported
    values.ValueClass = values.get_value_class()
    return folder


def release_metrics_folder(folder: Path) -> None:
    """Remove ``folder`` and go back to single-process metrics in this process."""
    from prometheus_client import values

    shutil.rmtree(folder, ignore_errors=True)
    os.environ.pop(MULTIPROC_ENV, None)
    values.ValueClass = values.get_value_class()


class LogWindow:
    """The monitoring window read from the prediction log (every worker's champion rows)."""

    def __init__(self, state: ServeState, size: int) -> None:
        self.state, self.size = state, size

    @property
    def generation(self) -> int:
        """Changes whenever a worker logged rows."""
        log = self.state.log
        return log.last_seq() if log is not None else 0

    def frame(self) -> tuple[Any, Any]:
        """The last ``size`` input rows and predictions of the champion version."""
        log = self.state.log
        if log is None:
            return None, []
        return log.recent_inputs(self.state.current.number, self.size, role=CHAMPION)

    def clear(self) -> None:
        """Nothing to clear: a new champion's rows are read by its version."""

    def append(self, rows: Any, predictions: Any) -> None:
        """The parent answers no request; workers log their rows."""


def write_decision(folder: Path, state: ServeState) -> None:
    """Record which version is champion and whether the challenger still gets traffic.

    A champion the workers do not hold yet (the alias moved) comes with its registry
    entry and the kept copy of its model folder, which is what a worker loads.
    """
    from mlflow.utils.proto_json_utils import message_to_json

    challenger, current = state.challenger, state.current
    body: dict[str, Any] = {
        "champion": current.number,
        "challenger": challenger.number if challenger is not None else None,
        "challenger_on": state.challenger_on,
    }
    if current.kept is not None:
        body["champion_model"] = str(current.kept)
        body["champion_version"] = json.loads(message_to_json(current.version.to_proto()))
    tmp = folder / f".{_DECISION}.{os.getpid()}"
    tmp.write_text(json.dumps(body))
    os.replace(tmp, folder / _DECISION)


def apply_decision(folder: Path, state: ServeState) -> None:
    """A worker takes the parent's decision: promote the challenger, stop its traffic, or
    load the version the alias moved to and serve it."""
    try:
        body = json.loads((folder / _DECISION).read_text())
    except (OSError, ValueError):
        return
    challenger, champion = state.challenger, body.get("champion")
    if challenger is not None and champion == challenger.number:
        state.current, state.challenger = challenger, None
    elif champion != state.current.number and body.get("champion_model"):
        state.current = _load_champion(body)  # whole: requests in flight keep the old one
        freeze_heap()
    if not body.get("challenger_on", True):
        state.challenger_on = False


def _load_champion(body: dict[str, Any]) -> Loaded:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.protos.model_registry_pb2 import ModelVersion as ModelVersionMessage
    from mlflow.utils.proto_json_utils import parse_dict

    message = ModelVersionMessage()
    parse_dict(body["champion_version"], message)
    version = ModelVersion.from_proto(message)
    return load_kept(version, Path(body["champion_model"]))


def run_workers(
    state: ServeState,
    sock: socket.socket,
    workers: int,
    folder: Path,
    interval: float,
    serve_one: Callable[[], None],
    watch: Callable[[], Any],
) -> int:
    """Fork ``workers`` processes that each call ``serve_one``; run ``watch`` here; wait.

    Returns 0 after SIGINT/SIGTERM (forwarded to every worker), 1 if a worker died.
    """
    from prometheus_client import multiprocess

    write_decision(folder, state)
    pids = [_fork(state, folder, interval, serve_one) for _ in range(workers)]
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    from .live_runs import process_figures

    watcher = watch()
    code = 0
    try:
        while not stopping.is_set() and code == 0:
            with contextlib.suppress(Exception):  # this process's own figures, as each worker
                state.metrics.set_process(process_figures())
            # each worker by its pid: the alerts' schedule runs may have children of their own
            for pid in [p for p in pids if os.waitpid(p, os.WNOHANG)[0] == p]:
                print(f"jupyter mlops serve: worker {pid} exited", file=sys.stderr, flush=True)
                pids.remove(pid)
                multiprocess.mark_process_dead(pid, str(folder))
                code = 1
            stopping.wait(0.2)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            multiprocess.mark_process_dead(pid, str(folder))
        watcher.stop()
        watcher.finish()
        release_metrics_folder(folder)
    return code


def _fork(state: ServeState, folder: Path, interval: float, serve_one: Callable[[], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _own_log(state)
        follower = threading.Thread(
            target=_follow_decisions, args=(folder, state, interval), daemon=True
        )
        follower.start()
        serve_one()
    except BaseException as exc:  # a worker never returns into the parent's code
        code = 0 if isinstance(exc, (SystemExit, KeyboardInterrupt)) else 1
        if code:
            print(f"jupyter mlops serve: worker: {exc}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def _own_log(state: ServeState) -> None:
    """A connection and writer of the worker's own (the parent's are not shared over fork)."""
    log = state.log
    if log is None:
        return
    # SQLite forbids using a connection across fork(), and closing the parent's copy here
    # could checkpoint the database under the parent: kept open and unused until exit
    _INHERITED.append(log)
    own = PredictionLog(log.path, log.model, limit=log.limit)
    state.log = own
    state.writer = LogWriter(own)


def _follow_decisions(folder: Path, state: ServeState, interval: float) -> None:
    """Each second at most: take the parent's decision and publish this worker's figures."""
    from .live_runs import process_figures

    stop = threading.Event()
    failed = ""
    while True:
        with contextlib.suppress(Exception):  # a figure that cannot be read is skipped
            state.metrics.set_process(process_figures())
        if stop.wait(min(interval, 1.0)):
            return
        try:
            apply_decision(folder, state)
        except Exception as exc:  # keep serving the version it has; say so once per error
            if str(exc) != failed:
                failed = str(exc)
                print(f"jupyter mlops serve: worker: {exc}", file=sys.stderr, flush=True)
