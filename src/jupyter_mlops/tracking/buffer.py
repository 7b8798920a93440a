"""In-process buffer that takes log calls in microseconds and writes them in batches.

The calling thread only appends a tuple to a deque. One daemon thread drains the
deques with ``MlflowClient.log_batch``-sized batches when a batch is full, every
``interval`` seconds, on :meth:`LogBuffer.flush` and at :meth:`LogBuffer.close`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import MlopsError, StoreError

__all__ = ["Batch", "LogBuffer", "count_values"]

log = logging.getLogger("jupyter_mlops")

MAX_METRICS_PER_BATCH = 1000
MAX_OTHER_PER_BATCH = 100

#: (run_id, metrics [(key, value, timestamp_ms, step)], params [(key, value)], tags [(key, value)])
Batch = tuple[str, list[tuple[str, float, int, int]], list[tuple[str, str]], list[tuple[str, str]]]
Sender = Callable[[str, list, list, list], None]


class LogBuffer:
    """Buffer metrics, params and tags and send them from a background thread.

    Parameters
    ----------
    send : callable
        ``send(run_id, metrics, params, tags)`` writes one batch durably or raises.
    interval : float
        Seconds between background flushes when batches are not full.
    on_tick : callable, optional
        Called from the background thread after each pass (used for heartbeats).
    spill : callable, optional
        ``spill(batches)`` stores values durably elsewhere (the journal). Called from
        the background thread when the store has been failing and more than
        ``max_pending`` values are queued, so an outage cannot exhaust memory.
    max_pending : int
        Bound on queued values while the store is failing.
    """

    def __init__(
        self,
        send: Sender,
        *,
        interval: float = 1.0,
        on_tick: Callable[[], None] | None = None,
        spill: Callable[[list[Batch]], None] | None = None,
        max_pending: int = 1_000_000,
    ) -> None:
        self._send = send
        self._interval = interval
        self._on_tick = on_tick
        self._spill = spill
        self._max_pending = max_pending
        #: batches the background thread gave up on because the buffer closed
        self._unsent: list[Batch] = []
        self._metrics: deque[tuple[str, str, float, int, int]] = deque()
        self._other: deque[tuple[str, str, str, str]] = deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self._failures = 0
        self.last_error: str | None = None
        self.sent = 0
        self._thread = threading.Thread(target=self._loop, name="mlops-flusher", daemon=True)
        self._thread.start()

    # -- calling thread -------------------------------------------------------------
    def metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        """Queue one metric value (already validated)."""
        metrics = self._metrics
        metrics.append((run_id, key, value, timestamp, step))
        if len(metrics) >= MAX_METRICS_PER_BATCH and not self._wake.is_set():
            self._wake.set()

    def param(self, run_id: str, key: str, value: str) -> None:
        """Queue one param (already validated)."""
        self._other.append((run_id, "param", key, value))

    def tag(self, run_id: str, key: str, value: str) -> None:
        """Queue one tag (already validated)."""
        self._other.append((run_id, "tag", key, value))

    @property
    def pending(self) -> int:
        """Values queued or being written, not yet durable."""
        return len(self._metrics) + len(self._other) + self._in_flight

    def flush(self, timeout: float | None = None) -> None:
        """Block until every value queued so far is written.

        ``timeout`` bounds the time without progress, not the whole flush: a slow
        but working store is waited for as long as batches keep landing.

        Raises
        ------
        StoreError
            When no batch could be written for ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last_sent = self.sent
        with self._idle:
            self._wake.set()
            while self.pending:
                now = time.monotonic()
                if self.sent != last_sent and timeout is not None:
                    last_sent, deadline = self.sent, now + timeout
                remaining = None if deadline is None else deadline - now
                if remaining is not None and remaining <= 0:
                    raise StoreError(
                        f"{self.pending} values are still unsent after {timeout:.0f} s without "
                        f"progress ({self.last_error or 'store busy'}); they stay queued, "
                        "retry %mlops flush"
                    )
                self._idle.wait(0.2 if remaining is None else min(remaining, 0.2))
                self._wake.set()

    def close(self, timeout: float = 30.0) -> list[Batch]:
        """Flush what is queued (up to ``timeout``) and stop the background thread.

        Returns
        -------
        list of Batch
            Values the store did not take in time (empty when all were written);
            the caller journals them.
        """
        with contextlib.suppress(StoreError):
            self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=60)
        with self._idle:
            left = self._unsent + self._take_all()
            self._unsent, self._in_flight = [], 0
        return left

    def _take_all(self) -> list[Batch]:
        taken: list[Batch] = []
        while self._metrics or self._other:
            taken.extend(self._take())
        return taken

    # -- background thread -----------------------------------------------------------
    def _loop(self) -> None:
        while not self._closing:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()
            if self._on_tick is not None:
                try:
                    self._on_tick()
                except Exception as exc:
                    log.debug("mlops tick failed: %s", exc)

    def _take(self) -> list[Batch]:
        by_run: dict[str, Batch] = {}

        def batch(run_id: str) -> Batch:
            b = by_run.get(run_id)
            if b is None:
                b = by_run[run_id] = (run_id, [], [], [])
            return b

        metrics, other = self._metrics, self._other
        taken = 0
        while metrics and taken < MAX_METRICS_PER_BATCH:
            run_id, key, value, ts, step = metrics.popleft()
            batch(run_id)[1].append((key, value, ts, step))
            taken += 1
        n_other = 0
        while other and n_other < MAX_OTHER_PER_BATCH:
            run_id, kind, key, text = other.popleft()
            b = batch(run_id)
            (b[2] if kind == "param" else b[3]).append((key, text))
            n_other += 1
        return list(by_run.values())

    def _drain(self) -> None:
        while self._metrics or self._other:
            with self._idle:  # flush() reads ``pending`` under this lock: no gap mid-move
                batches = self._take()
                self._in_flight = count_values(batches)
            for b in batches:
                self._send_with_retry(b)
            with self._idle:
                self._in_flight = 0
                self._idle.notify_all()
        with self._idle:
            self._idle.notify_all()

    def _send_with_retry(self, batch: Batch) -> None:
        delay = 0.1
        while True:
            try:
                self._send(*batch)
            except MlopsError as exc:
                if exc.is_usage:
                    # The store rejected the content itself: retrying cannot help.
                    self.last_error = str(exc)
                    log.warning("jupyter-mlops dropped a batch the store rejected: %s", exc)
                    return
                self._note_failure(exc)
            except Exception as exc:
                self._note_failure(exc)
            else:
                if self._failures:
                    log.warning("jupyter-mlops: tracking store reachable again; logging resumed")
                self._failures = 0
                self.last_error = None
                self.sent += count_values([batch])
                return
            if self._closing:
                self._unsent.append(batch)
                return
            self._spill_if_over_bound()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _spill_if_over_bound(self) -> None:
        if self._spill is None or len(self._metrics) + len(self._other) <= self._max_pending:
            return
        with self._idle:
            queued = self._take_all()
        self._spill(queued)
        log.warning(
            "jupyter-mlops: tracking store still unreachable; %d queued values moved to the "
            "local journal (run `jupyter mlops sync` once it is back)",
            count_values(queued),
        )

    def _note_failure(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if self._failures == 0:
            log.warning(
                "jupyter-mlops: cannot write to the tracking store (%s); values stay buffered "
                "and are retried",
                self.last_error,
            )
        self._failures += 1

    @staticmethod
    def now_ms() -> int:
        """Milliseconds since the epoch, MLflow's timestamp unit."""
        return time.time_ns() // 1_000_000

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<LogBuffer pending={self.pending} sent={self.sent}>"


def count_values(batches: list[Batch]) -> int:
    """Number of metric, param and tag values in ``batches``."""
    return sum(len(b[1]) + len(b[2]) + len(b[3]) for b in batches)
