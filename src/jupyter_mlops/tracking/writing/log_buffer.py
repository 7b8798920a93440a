"""In-process buffer that takes log calls in microseconds and writes them in batches.

The calling thread only appends a tuple to a deque. One daemon thread drains the
deques with ``MlflowClient.log_batch``-sized batches when a batch is full, every
``interval`` seconds, on :meth:`LogBuffer.flush` and at :meth:`LogBuffer.close`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from ...errors import MlopsError, StoreError

__all__ = ["FLUSH_ENV", "Batch", "LogBuffer", "count_values", "interval_from_env"]

log = logging.getLogger("jupyter_mlops")

#: seconds between background writes when not the default 1 s: a process that watches a
#: run's values as they arrive (a search's pruner) sets it shorter for the kernel it starts
FLUSH_ENV = "MLOPS_FLUSH_EVERY_S"
MAX_METRICS_PER_BATCH = 1000
MAX_OTHER_PER_BATCH = 100
#: sends allowed to find the values a store rejected in one batch (two per halving)
_PROBES = 64

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
        #: batches taken off the queues and not yet written (a stuck or abandoned send's)
        self._held: list[Batch] = []
        #: sends left to isolate the values a store rejected, per taken batch
        self._probes = 0
        #: one line per value the store refused (the rest of its batch was written)
        self.rejected: deque[str] = deque(maxlen=100)
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
        with self._idle:
            self._closing = True
        self._wake.set()
        self._thread.join(timeout=max(timeout, 1.0))
        with self._idle:
            # A flusher still stuck in a send holds its batch: it is returned (journaled) too.
            # Should that send land after all, replaying it writes the same values again,
            # which MLflow stores once.
            left = self._held + self._take_all()
            self._held, self._in_flight = [], 0
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

        for _ in range(MAX_METRICS_PER_BATCH):
            try:  # never "check, then pop": an emptied deque ends the loop instead of raising
                run_id, key, value, ts, step = self._metrics.popleft()
            except IndexError:
                break
            batch(run_id)[1].append((key, value, ts, step))
        for _ in range(MAX_OTHER_PER_BATCH):
            try:
                run_id, kind, key, text = self._other.popleft()
            except IndexError:
                break
            b = batch(run_id)
            (b[2] if kind == "param" else b[3]).append((key, text))
        return list(by_run.values())

    def _drain(self) -> None:
        while not self._closing:
            with self._idle:  # flush() reads ``pending`` under this lock: no gap mid-move
                batches = self._take()
                if not batches:
                    self._idle.notify_all()
                    return
                self._held = list(batches)
                self._in_flight = count_values(batches)
            for b in batches:
                if self._closing:
                    break
                self._probes = _PROBES
                if not self._send_with_retry(b):
                    break  # closing: what is still held goes back to the caller of close()
                with self._idle:
                    if self._held and self._held[0] is b:
                        self._held.pop(0)
            with self._idle:
                self._in_flight = 0
                self._idle.notify_all()
        with self._idle:
            self._idle.notify_all()

    def _send_with_retry(self, batch: Batch) -> bool:
        """Write ``batch``, retrying while the store is unreachable.

        Returns False when the buffer closed first (the batch is left held), else True:
        written, or the values the store refused reported and the rest written.
        """
        delay = 0.1
        while True:
            try:
                self._send(*batch)
            except MlopsError as exc:
                if exc.is_usage:
                    # The store rejected the content itself: retrying cannot help, but the
                    # other values of the batch must not pay for the one it refused.
                    return self._isolate(batch, exc)
                self._note_failure(exc)
            except Exception as exc:
                self._note_failure(exc)
            else:
                if self._failures:
                    log.warning("jupyter-mlops: tracking store reachable again; logging resumed")
                    self.last_error = None  # the outage is over (a rejection stays reported)
                self._failures = 0
                self.sent += count_values([batch])
                return True
            if self._closing:
                return False
            self._spill_if_over_bound()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _isolate(self, batch: Batch, exc: MlopsError) -> bool:
        """Send the halves of a rejected batch apart until the refused values are alone."""
        items = _items(batch)
        if len(items) > 1 and self._probes > 0:
            half = len(items) // 2
            for part in (items[:half], items[half:]):
                self._probes -= 1
                if not self._send_with_retry(_batch(batch[0], part)):
                    return False
            return True
        names = ", ".join(f"{kind} {key!r}" for kind, key, _ in items[:5])
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        line = f"the store rejected {names}{more} of run {batch[0]}: {exc}"
        self.last_error = line
        self.rejected.append(line)
        log.warning("jupyter-mlops: %s; the other values were written", line)
        return True

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


def _items(batch: Batch) -> list[tuple[str, str, tuple]]:
    """The values of ``batch`` one by one: ``(kind, key, value tuple)``."""
    _, metrics, params, tags = batch
    return [
        *(("metric", m[0], m) for m in metrics),
        *(("param", p[0], p) for p in params),
        *(("tag", t[0], t) for t in tags),
    ]


def _batch(run_id: str, items: list[tuple[str, str, tuple]]) -> Batch:
    """Inverse of :func:`_items`."""
    return (
        run_id,
        [v for kind, _, v in items if kind == "metric"],
        [v for kind, _, v in items if kind == "param"],
        [v for kind, _, v in items if kind == "tag"],
    )


def count_values(batches: list[Batch]) -> int:
    """Number of metric, param and tag values in ``batches``."""
    return sum(len(b[1]) + len(b[2]) + len(b[3]) for b in batches)


def interval_from_env(default: float = 1.0) -> float:
    """The flush interval ``MLOPS_FLUSH_EVERY_S`` asks for, kept within 0.05 s and ``default``."""
    try:
        seconds = float(os.environ.get(FLUSH_ENV, ""))
    except ValueError:
        return default
    return min(max(seconds, 0.05), default)
