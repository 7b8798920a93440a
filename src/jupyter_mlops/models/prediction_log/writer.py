"""Appending to the log off the request path: a queue written by one background thread."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from .log import PredictionLog

__all__ = ["LogWriter"]


class LogWriter:
    """Appends to a :class:`PredictionLog` from a background thread.

    :meth:`append` only queues the batch (microseconds, for the request path);
    the thread writes what is queued every ``interval`` seconds in one
    transaction. :meth:`flush` writes now; :meth:`close` writes the rest and stops.
    A failed write is reported once per episode on stderr and retried.
    """

    def __init__(self, log: PredictionLog, interval: float = 0.1) -> None:
        self.log, self.interval = log, interval
        self._pending: list[tuple[str, str, Sequence[Any], Any, Any, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="mlops-prediction-log", daemon=True)
        self._thread.start()

    def append(
        self, version: str, role: str, ids: Sequence[Any], inputs: Any, predictions: Any
    ) -> None:
        """Queue one batch (see :meth:`PredictionLog.append`)."""
        with self._lock:
            self._pending.append((str(version), role, ids, inputs, predictions, time.time()))

    def flush(self) -> None:
        """Write every queued batch now."""
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                self.log.append_many(pending)
            except Exception as exc:
                with self._lock:
                    self._pending[:0] = pending  # kept for the next round
                if not self._failing:
                    print(f"prediction log: cannot write: {exc}", file=sys.stderr, flush=True)
                self._failing = True
                raise
            self._failing = False

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            try:
                self.flush()
            except Exception:
                time.sleep(self.interval)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
