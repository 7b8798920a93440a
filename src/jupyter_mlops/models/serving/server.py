"""``jupyter mlops serve``: check every option, load the version, serve until stopped.

Everything a user can get wrong (reference, port, alert expressions, webhook,
schedule, a version without training snapshot under ``--monitor``) is checked
before the port is bound, so a mistake exits 2 without serving anything.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

from ...errors import InvalidInput, MlopsError, NotFound
from ...tracking.api import tracker
from ...tracking.mlflow_bridge.store import mlflow_errors
from ..prediction_log import DEFAULT_LIMIT, DEFAULT_WINDOW, LogWriter, open_log
from ..refs import parse_ref, resolve
from .alerts import Alert, AlertState, parse_alerts
from .app import DEFAULT_MAX_BODY, ServeState, build_app
from .loaded import Loaded, freeze_heap, load
from .notify import AlertContext
from .window import Window

__all__ = ["ServeOptions", "Served", "prepare", "serve"]


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


@dataclass
class Served:
    """A checked and loaded server, not yet listening."""

    options: ServeOptions
    state: ServeState
    alerts: list[Alert]

    @property
    def url(self) -> str:
        """The scoring endpoint."""
        return f"http://{self.options.host}:{self.options.port}/invocations"

    @property
    def banner(self) -> str:
        """The first line the command prints."""
        v = self.state.current.version
        return f"serving {v.name} version {v.version} at {self.url}"


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
    if (o.webhook or o.run_schedule) and not alerts:
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
    return alerts


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
    client = tracker().client
    ref = parse_ref(o.ref)
    loaded: Loaded = load(resolve(client, ref), monitor=o.monitor)
    _monitoring_experiment(loaded)
    state = ServeState(loaded, ref.alias or "", Window(o.window), token=o.token)
    state.max_body = o.max_body
    if o.prediction_log:
        state.log = open_log(loaded.version.name, limit=o.log_limit)
    state.metrics.serving(loaded.version.name, state.alias, loaded.number)
    return Served(o, state, alerts)


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
    watcher = Watcher(
        served.state, AlertState(served.alerts), ctx, interval=o.interval,
        monitor=o.monitor, follow=o.follow_alias, feedback_window=o.feedback_window,
    )  # fmt: skip
    state = served.state
    if state.log is not None:
        state.writer = LogWriter(state.log)
    if o.host not in ("127.0.0.1", "localhost", "::1") and o.token is None:
        print(
            f"jupyter mlops serve: listening on {o.host} without --token: anyone who reaches "
            "the port can POST /feedback; pass --token (or MLOPS_SERVE_TOKEN)",
            file=sys.stderr,
            flush=True,
        )
    freeze_heap()
    watcher.start()
    config = uvicorn.Config(
        build_app(served.state), log_level="warning", access_log=False, lifespan="off"
    )
    # uvicorn re-raises the SIGTERM it stopped on once it is done: with this handler that
    # is an exit through the ``finally`` below, which writes what the log still queues
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        watcher.stop()
        if state.writer is not None:
            state.writer.close()  # every answer is in the log before the last refresh
        watcher.finish()
        sock.close()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
