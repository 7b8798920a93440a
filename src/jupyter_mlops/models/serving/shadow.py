"""Shadow mode: the challenger scores every answered request's rows off the request path.

One thread takes rows from a bounded queue, scores them with the challenger,
counts the outcome in the challenger's series (``role="challenger"``) and logs
its predictions under the same request ids. Its answers are never returned. A
full queue drops the rows (counted) rather than slow the champion down.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from ..prediction_log import CHALLENGER

__all__ = ["Shadow"]

_QUEUE = 256


class Shadow:
    """Scores rows with ``state.challenger`` in a background thread."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.dropped = 0
        self._queue: queue.Queue[tuple[Any, list[str]] | None] = queue.Queue(_QUEUE)
        self._thread = threading.Thread(target=self._run, name="mlops-shadow", daemon=True)
        self._thread.start()

    def submit(self, rows: Any, ids: list[str]) -> None:
        """Queue one request's parsed rows and ids (never blocks)."""
        try:
            self._queue.put_nowait((rows, ids))
        except queue.Full:
            self.dropped += 1
            self.state.metrics.shadow_dropped.inc()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued request is scored (tests, shutdown)."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)

    def stop(self) -> None:
        """Score what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._score(*item)
            finally:
                self._queue.task_done()

    def _score(self, rows: Any, ids: list[str]) -> None:
        state = self.state
        challenger = state.challenger
        if challenger is None or not state.challenger_on:
            return
        start = time.perf_counter()
        try:
            predictions = challenger.model.predict(rows)
        except Exception:
            state.metrics.observe_request(
                500, time.perf_counter() - start, 0, challenger.number, CHALLENGER
            )
            return
        state.metrics.observe_request(
            200, time.perf_counter() - start, len(ids), challenger.number, CHALLENGER
        )
        if state.writer is not None:
            state.writer.append(challenger.number, CHALLENGER, ids, rows, predictions)
