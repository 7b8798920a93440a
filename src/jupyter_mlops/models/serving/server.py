"""``jupyter mlops serve``: check every option, load the version, serve until stopped.

Everything a user can get wrong (reference, port, alert expressions, webhook,
schedule, a version without training snapshot under ``--monitor``) is checked
before the port is bound, so a mistake exits 2 without serving anything.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...errors import InvalidInput, MlopsError, NotFound
from ...portability import posix
from ...tracking.api import tracker
from ...tracking.mlflow_bridge.store import mlflow_errors
from ..prediction_log import DEFAULT_LIMIT, DEFAULT_WINDOW, LogWriter, open_log
from ..refs import parse_ref, resolve
from .alerts import Alert, AlertState, parse_alerts
from .app import DEFAULT_MAX_BODY, ServeState, build_app
from .loaded import Loaded, freeze_heap, load
from .notify import AlertContext
from .rollout import Rollout
from .rollout_rules import Rule, parse_rule
from .shadow import Shadow
from .window import Window
from .workers import (
    LogWindow,
    metrics_folder,
    release_metrics_folder,
    run_workers,
    write_decision,
)

__all__ = ["WORKERS_ENV", "ServeOptions", "Served", "prepare", "serve", "worker_count"]


@dataclass(frozen=True)
class ServeOptions:
    """The command line of ``jupyter mlops serve``."""

    ref: str
    port: int = 5000
    host: str = "127.0.0.1"
    monitor: bool = False
    window: int = 1000
    alerts: Sequence[str] = field(default_factory=list)
    webhook: str | None = None
    follow_alias: bool = False
    run_schedule: str | None = None
    interval: float = 5.0
    prediction_log: bool = True
    log_limit: int = DEFAULT_LIMIT
    feedback_window: int = DEFAULT_WINDOW
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    challenger: str | None = None
    mode: str | None = None
    canary_share: float = 0.1
    promote_when: str | None = None
    rollback_when: str | None = None
    #: worker processes; ``None``: one per core where they can share the books (see
    #: :func:`worker_count`)
    workers: int | None = None


@dataclass
class Served:
    """A checked and loaded server, not yet listening."""

    options: ServeOptions
    state: ServeState
    alerts: list[Alert]
    rules: tuple[Rule | None, Rule | None] = (None, None)
    #: with ``--workers N``: this server's multiprocess metrics folder (removed when it stops)
    metrics_dir: Path | None = None

    def discard(self) -> None:
        """Remove what :func:`prepare` created for serving (``--dry-run`` serves nothing)."""
        if self.metrics_dir is not None:
            release_metrics_folder(self.metrics_dir)
            self.metrics_dir = None

    @property
    def url(self) -> str:
        """The scoring endpoint."""
        return f"http://{self.options.host}:{self.options.port}/invocations"

    @property
    def banner(self) -> str:
        """The first line the command prints."""
        v = self.state.current.version
        line = f"serving {v.name} version {v.version} at {self.url}"
        if (self.options.workers or 1) > 1:
            line += f" ({self.options.workers} workers)"
        challenger = self.state.challenger
        if challenger is not None:
            share = f" {self.state.canary_share:.0%}" if self.state.mode == "canary" else ""
            line += f"; challenger version {challenger.number} ({self.state.mode}{share})"
        return line


def _check(o: ServeOptions) -> list[Alert]:
    if not 0 < o.port < 65536:
        raise InvalidInput(f"--port must be 1-65535, got {o.port}; e.g. --port 5001")
    if o.window < 10:
        raise InvalidInput(f"--window must be at least 10 rows, got {o.window}; e.g. --window 1000")
    if not o.interval > 0:
        raise InvalidInput(f"--interval must be a positive number of seconds, got {o.interval}")
    alerts = parse_alerts(o.alerts, monitor=o.monitor)
    if o.webhook is not None:
        url = urlparse(o.webhook)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidInput(f"--webhook must be an http(s) URL, got {o.webhook!r}")
    if (o.webhook or o.run_schedule) and not alerts and not o.rollback_when:
        raise InvalidInput('--webhook and --run-schedule act on alerts: add --alert "EXPR"')
    if o.follow_alias and parse_ref(o.ref).alias is None:
        raise InvalidInput(f"--follow-alias needs NAME@ALIAS, got {o.ref!r}")
    if o.run_schedule is not None:
        check_schedule(o.run_schedule)
    if o.log_limit < 1:
        raise InvalidInput(f"--log-limit must be at least 1 row, got {o.log_limit}")
    if o.feedback_window < 1:
        raise InvalidInput(f"--feedback-window must be at least 1 row, got {o.feedback_window}")
    if o.max_body < 1024:
        raise InvalidInput(f"--max-body must be at least 1024 bytes, got {o.max_body}")
    if o.token is not None and len(o.token) < 8:
        raise InvalidInput("--token must be at least 8 characters (MLOPS_SERVE_TOKEN likewise)")
    _check_workers(o)
    return alerts


#: the default number of ``serve`` worker processes (else one per core)
WORKERS_ENV = "MLOPS_SERVE_WORKERS"


def worker_count(o: ServeOptions) -> int:
    """How many processes serve ``o``: ``--workers``, else ``MLOPS_SERVE_WORKERS``, else one
    per core this process may run on.

    The default falls back to one process where several cannot share the books: without
    POSIX ``fork`` and without the prediction log (``--no-log``: the window and labels
    live in memory).
    """
    if o.workers is not None:
        return o.workers
    if not posix() or not o.prediction_log:
        return 1
    given = os.environ.get(WORKERS_ENV, "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise InvalidInput(f"{WORKERS_ENV} must be a whole number >= 1, got {given!r}")
        return int(given)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _check_workers(o: ServeOptions) -> None:
    if o.workers is None:
        return
    if o.workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {o.workers}; e.g. --workers 2")
    if o.workers == 1:
        return
    if not posix():
        raise InvalidInput("--workers N forks worker processes, which needs POSIX; use --workers 1")
    if not o.prediction_log:
        raise InvalidInput(
            "--workers N shares the window and the labels through the prediction log: drop --no-log"
        )


def check_schedule(name: str) -> None:
    """Refuse ``--run-schedule NAME`` when schedules are missing or NAME is not one."""
    try:
        from ...schedules.api import get_schedule
    except ImportError:
        raise InvalidInput(
            "--run-schedule needs the schedules service, which this installation lacks"
        ) from None
    try:
        get_schedule(name)
    except NotFound as exc:
        raise InvalidInput(f"--run-schedule: {exc}") from None


def prepare(o: ServeOptions) -> Served:
    """Check ``o``, resolve and load the version (and its training snapshot with ``--monitor``)."""
    alerts = _check(o)
    o = replace(o, workers=worker_count(o))
    rules = _check_rollout(o)
    folder = metrics_folder() if (o.workers or 1) > 1 else None  # before the first metric
    try:
        served = _load(o, alerts, rules)
    except BaseException:
        if folder is not None:
            release_metrics_folder(folder)
        raise
    served.metrics_dir = folder
    return served


def _load(o: ServeOptions, alerts: list[Alert], rules: tuple[Rule | None, Rule | None]) -> Served:
    client = tracker().client
    ref = parse_ref(o.ref)
    loaded: Loaded = load(resolve(client, ref), monitor=o.monitor)
    challenger = _challenger(o, loaded)
    _monitoring_experiment(loaded)
    state = ServeState(loaded, ref.alias or "", Window(o.window), token=o.token)
    state.max_body = o.max_body
    if challenger is not None:
        state.challenger, state.mode, state.canary_share = challenger, o.mode, o.canary_share
        state.metrics.set_rollout(challenger.number, "running")
    if o.prediction_log:
        state.log = open_log(loaded.version.name, limit=o.log_limit)
    state.metrics.serving(loaded.version.name, state.alias, loaded.number)
    if o.monitor:
        state.metrics.drift_available.set(1 if loaded.reference is not None else 0)
    return Served(o, state, alerts, rules)


_MODES = ("shadow", "canary")


def _check_rollout(o: ServeOptions) -> tuple[Rule | None, Rule | None]:
    """Check the challenger options; parse ``--promote-when`` and ``--rollback-when``."""
    if o.challenger is None:
        for flag, value in (("--mode", o.mode), ("--promote-when", o.promote_when),
                            ("--rollback-when", o.rollback_when)):  # fmt: skip
            if value is not None:
                raise InvalidInput(f"{flag} needs a challenger: add --challenger ALIAS|VERSION")
        return None, None
    if o.mode not in _MODES:
        raise InvalidInput(
            f"--challenger needs --mode shadow or --mode canary, got {o.mode or 'none'}"
        )
    if not 0 < o.canary_share <= 1:
        raise InvalidInput(f"--canary-share must be in (0, 1], got {o.canary_share}; e.g. 0.1")
    promote = parse_rule("--promote-when", o.promote_when) if o.promote_when else None
    rollback = parse_rule("--rollback-when", o.rollback_when) if o.rollback_when else None
    if promote is not None and parse_ref(o.ref).alias is None:
        raise InvalidInput(f"--promote-when moves an alias: serve NAME@ALIAS, got {o.ref!r}")
    for rule in (promote, rollback):
        uses_labels = rule is not None and any(
            n.split(".")[1] not in _REQUEST_FIGURES for n in rule.names()
        )
        if uses_labels and not o.prediction_log:
            raise InvalidInput(f"{rule.option} uses live labels, which --no-log turns off")  # type: ignore[union-attr]
    return promote, rollback


_REQUEST_FIGURES = ("error_rate", "p50_ms", "p99_ms", "requests")


def _challenger(o: ServeOptions, champion: Loaded) -> Loaded | None:
    """Load the ``--challenger`` (an alias or a version number of the served model)."""
    if o.challenger is None:
        return None
    name = champion.version.name
    text = o.challenger.strip()
    ref = f"{name}/{text}" if text.isdigit() else f"{name}@{text}"
    version = resolve(tracker().client, parse_ref(ref))
    if str(version.version) == champion.number:
        raise InvalidInput(
            f"--challenger {text} is version {version.version}, the version being served; "
            "name another version or alias"
        )
    return load(version, monitor=False)


def _monitoring_experiment(loaded: Loaded) -> None:
    """Log alert runs beside the version's source run, unless an experiment is configured."""
    t = tracker()
    if t.settings.experiment or not loaded.version.run_id:
        return
    with mlflow_errors(f"read the source run of {loaded.version.name}/{loaded.number}"):
        run = t.client.get_run(loaded.version.run_id)
        name = t.client.get_experiment(run.info.experiment_id).name
    t.set_experiment(name)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that name it,
    # and without it Nagle's algorithm holds each response body for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise MlopsError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
        ) from None
    return sock


def serve(served: Served) -> int:
    """Listen and serve until interrupted (SIGINT/SIGTERM); return the exit code."""
    import uvicorn

    from .watch import Watcher

    o = served.options
    sock = _bind(o.host, o.port)
    ctx = AlertContext(
        o.ref, served.state.alias, o.webhook, o.run_schedule, f"http://{o.host}:{o.port}"
    )
    state = served.state
    promote, rollback = served.rules
    rollout = None
    if state.challenger is not None:
        rollout = Rollout(state, ctx, promote, rollback)

    def watcher(**workers: Any) -> Watcher:
        w = Watcher(
            state, AlertState(served.alerts), ctx, interval=o.interval, monitor=o.monitor,
            follow=o.follow_alias, feedback_window=o.feedback_window, rollout=rollout,
            **workers,
        )  # fmt: skip
        w.start()
        return w

    if o.host not in ("127.0.0.1", "localhost", "::1") and o.token is None:
        print(
            f"jupyter mlops serve: listening on {o.host} without --token: anyone who reaches "
            "the port can POST /feedback; pass --token (or MLOPS_SERVE_TOKEN)",
            file=sys.stderr,
            flush=True,
        )
    freeze_heap()
    config = uvicorn.Config(build_app(state), log_level="warning", access_log=False, lifespan="off")
    if served.metrics_dir is not None:
        return _serve_workers(served, sock, config, rollout, watcher)
    if state.mode == "shadow":
        state.shadow = Shadow(state)
    if state.log is not None:
        state.writer = LogWriter(state.log)
    running = watcher()
    # uvicorn re-raises the SIGTERM it stopped on once it is done: with this handler that
    # is an exit through the ``finally`` below, which writes what the log still queues
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        running.stop()
        _stop_serving(state)
        running.finish()
        sock.close()
    return 0


def _serve_workers(
    served: Served, sock: socket.socket, config: Any, rollout: Rollout | None, watcher: Any
) -> int:
    """``--workers N``: fork the workers, run the one background loop in this process."""
    import uvicorn

    state, folder = served.state, served.metrics_dir
    if folder is None:  # pragma: no cover - serve() takes this path only with a folder
        raise MlopsError("--workers N: no metrics folder was prepared")
    if rollout is not None:
        rollout.on_decision = lambda: write_decision(folder, state)

    def serve_one() -> None:  # in each worker, after the fork
        if state.mode == "shadow":
            state.shadow = Shadow(state)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            _stop_serving(state)

    def watch() -> Any:  # in this process only: the window comes from the prediction log
        state.window = LogWindow(state, served.options.window)  # type: ignore[assignment]
        return watcher(keep_in=folder, on_switch=lambda: write_decision(folder, state))

    try:
        count, interval = served.options.workers or 1, served.options.interval
        return run_workers(state, sock, count, folder, interval, serve_one, watch)
    finally:
        sock.close()
        served.metrics_dir = None


def _stop_serving(state: ServeState) -> None:
    if state.shadow is not None:
        state.shadow.stop()
    if state.writer is not None:
        state.writer.close()  # every answer is in the log before the last refresh


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
