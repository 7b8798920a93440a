"""Opening the MLflow tracking store: lazy client, safe SQLite, error translation."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

from ...config import Settings
from ...errors import Conflict, InvalidInput, MlopsError, NotFound, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = [
    "apply_mlflow_defaults",
    "lazy_client",
    "mlflow_errors",
    "open_client",
    "sqlite_path",
]

_clients: dict[str, MlflowClient] = {}
_lock = threading.Lock()


def sqlite_path(uri: str) -> Path | None:
    """Return the database file of a ``sqlite:///`` URI, else ``None``."""
    if not uri.startswith("sqlite:"):
        return None
    path = urlparse(uri).path
    return Path(path) if path and path != "/:memory:" else None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An inter-process lock on ``path`` (``filelock``: ``fcntl`` here, ``msvcrt`` on Windows)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path):
        yield


def _prepare_sqlite(db: Path) -> None:
    # WAL lets readers run beside a writer and is persistent in the file, so it
    # is set once before MLflow creates the schema; the URI's ``timeout`` makes
    # concurrent writers wait instead of failing with "database is locked".
    con = sqlite3.connect(db, timeout=60)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def open_client(settings: Settings) -> MlflowClient:
    """Return a cached :class:`mlflow.MlflowClient` for ``settings``.

    For the embedded store the folder and database are created on first use,
    under an inter-process lock so that parallel kernels can start together.
    """
    uri = settings.tracking_uri
    # Imported outside the lock: importing MLflow links it to the process-wide
    # tracker (``mlflow_link``), which may open its own store through here.
    from mlflow import MlflowClient

    with _lock:
        client = _clients.get(uri)
        if client is not None:
            return client
        apply_mlflow_defaults(uri)
        db = sqlite_path(uri)
        if db is not None:
            with _file_lock(db.parent / ".init.lock"), _quiet_migrations():
                _prepare_sqlite(db)
                with mlflow_errors(f"open the tracking store {uri}"):
                    _create_schema(uri, settings.artifact_root)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        _clients[uri] = client
        return client


class _LazyClient:
    """Stands in for :func:`open_client`'s client, opening it (importing MLflow) on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: MlflowClient | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = open_client(self._settings)
        return getattr(self._client, name)


def lazy_client(settings: Settings) -> MlflowClient:
    """The client of ``settings``, opened only if a caller does use it.

    For work that reads an embedded store directly when it can and needs MLflow
    only for the rest (a fully cached pipeline, say).
    """
    return cast("MlflowClient", _LazyClient(settings))


#: MLflow's HTTP defaults retry for minutes; our buffer retries (and journals) itself.
#: Against a server MLflow also prints "View run ... at: URL" on stdout at each run's
#: end, which corrupts ``--json`` output of the CLI; our interfaces report runs themselves.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
#: every MLflow setting this module may default in ``os.environ`` (a user's value wins)
MLFLOW_DEFAULTS = {_PROGRESS_BAR: "false", **_HTTP_DEFAULTS}


def apply_mlflow_defaults(uri: str) -> None:
    """Set in ``os.environ`` the MLflow settings this package defaults (a user's value wins).

    Done when a store is opened; a process that starts a kernel before that (a cold
    headless run) does it first, so the kernel sees the same environment.
    """
    # Artifact transfers here are small and frequent: no progress bars in cell output.
    os.environ.setdefault(_PROGRESS_BAR, MLFLOW_DEFAULTS[_PROGRESS_BAR])
    if uri.startswith(("http://", "https://")):
        _bound_http_retries()


def _bound_http_retries() -> None:
    """Keep one request to a server from blocking for minutes (values the user set win)."""
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


def _create_schema(uri: str, artifact_root: str | None) -> None:
    """Create or migrate the schema, with MLflow's Default experiment under our artifact root.

    Left to itself MLflow would give the Default experiment ``./mlruns`` relative
    to whatever folder the first process happened to run in.
    """
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = Path(artifact_root).as_uri() if artifact_root else "./mlruns"
    SqlAlchemyStore(uri, root)


@contextlib.contextmanager
def _quiet_migrations() -> Iterator[None]:
    names = ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= 400 else line[:397] + "..."


@contextlib.contextmanager
def mlflow_errors(action: str, hint: str = "") -> Iterator[None]:
    """Translate MLflow and connection errors raised inside the block.

    Parameters
    ----------
    action : str
        What was being done, e.g. ``"search runs"``; starts the message.
    hint : str
        The right form, appended to input errors.
    """
    try:
        yield
    except MlopsError:
        raise
    except Exception as exc:
        raise translate(exc, action, hint) from None


def translate(exc: BaseException, action: str, hint: str = "") -> MlopsError:
    """Return our error for an exception raised by MLflow or its transport."""
    from mlflow.exceptions import MlflowException

    suffix = f"; {hint}" if hint else ""
    if isinstance(exc, MlflowException):
        code: Any = exc.error_code
        message = _first_line(exc.message)
        if code == "RESOURCE_DOES_NOT_EXIST":
            return NotFound(f"cannot {action}: {message}{suffix}")
        if code == "RESOURCE_ALREADY_EXISTS":
            return Conflict(f"cannot {action}: {message}{suffix}")
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
            return InvalidInput(f"cannot {action}: {message}{suffix}")
        return StoreError(f"cannot {action}: {message}")
    return StoreError(f"cannot {action}: {type(exc).__name__}: {_first_line(str(exc))}")
