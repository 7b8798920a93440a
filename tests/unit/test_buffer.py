"""The log buffer: batching, ordering, flush durability and retries.

The sender here is our own seam (what the Tracker passes in); MLflow itself is
exercised by the integration tests.
"""

from __future__ import annotations

import threading

import pytest

from jupyter_mlops.errors import InvalidInput, StoreError
from jupyter_mlops.tracking.writing.log_buffer import (
    FLUSH_ENV,
    MAX_METRICS_PER_BATCH,
    LogBuffer,
    interval_from_env,
)


class Recorder:
    def __init__(self, fail_first: int = 0, error: Exception | None = None) -> None:
        self.batches: list[tuple[str, list, list, list]] = []
        self.fail_first = fail_first
        self.error = error or StoreError("store down")
        self.lock = threading.Lock()

    def __call__(self, run_id: str, metrics: list, params: list, tags: list) -> None:
        with self.lock:
            if self.fail_first:
                self.fail_first -= 1
                raise self.error
            self.batches.append((run_id, list(metrics), list(params), list(tags)))


def test_flush_makes_every_value_durable_in_order_and_batches_are_bounded() -> None:
    rec = Recorder()
    buf = LogBuffer(rec, interval=60)
    for i in range(2500):
        buf.metric("r1", "loss", float(i), 1000 + i, i)
    buf.param("r1", "lr", "0.1")
    buf.tag("r1", "team", "growth")
    buf.flush(timeout=10)
    assert buf.pending == 0
    sent = [m for b in rec.batches for m in b[1]]
    assert [m[3] for m in sent] == list(range(2500))
    assert all(len(b[1]) <= MAX_METRICS_PER_BATCH for b in rec.batches)
    assert ("lr", "0.1") in [p for b in rec.batches for p in b[2]]
    assert ("team", "growth") in [t for b in rec.batches for t in b[3]]
    buf.close()


def test_values_for_different_runs_go_to_their_runs() -> None:
    rec = Recorder()
    buf = LogBuffer(rec, interval=60)
    buf.metric("a", "m", 1.0, 1, 0)
    buf.metric("b", "m", 2.0, 1, 0)
    buf.flush(timeout=10)
    by_run = {b[0]: [m[1] for m in b[1]] for b in rec.batches}
    assert by_run == {"a": [1.0], "b": [2.0]}
    buf.close()


def test_transient_failures_are_retried_without_loss() -> None:
    rec = Recorder(fail_first=3)
    buf = LogBuffer(rec, interval=60)
    for i in range(10):
        buf.metric("r", "x", float(i), 0, i)
    buf.flush(timeout=30)
    assert [m[1] for b in rec.batches for m in b[1]] == [float(i) for i in range(10)]
    assert buf.last_error is None
    buf.close()


def test_flush_timeout_reports_what_is_still_queued() -> None:
    rec = Recorder(fail_first=10**6)
    buf = LogBuffer(rec, interval=60)
    buf.metric("r", "x", 1.0, 0, 0)
    try:
        buf.flush(timeout=0.5)
    except StoreError as exc:
        assert "still unsent" in str(exc) and "store down" in str(exc)
    else:  # pragma: no cover - the assertion documents the failure
        raise AssertionError("flush should have timed out")
    assert buf.pending == 1
    rec.fail_first = 0
    buf.flush(timeout=30)
    assert buf.pending == 0
    buf.close()


def test_a_batch_the_store_rejects_is_reported_not_retried_forever() -> None:
    rec = Recorder(fail_first=1, error=InvalidInput("bad value"))
    buf = LogBuffer(rec, interval=60)
    buf.metric("r", "x", 1.0, 0, 0)
    buf.flush(timeout=10)
    assert buf.last_error is not None and "bad value" in buf.last_error
    buf.close()


def test_flush_waits_for_a_slow_store_that_keeps_making_progress() -> None:
    import time

    class Slow(Recorder):
        def __call__(self, run_id: str, metrics: list, params: list, tags: list) -> None:
            time.sleep(0.3)  # each batch is slow, but every batch lands
            super().__call__(run_id, metrics, params, tags)

    rec = Slow()
    buf = LogBuffer(rec, interval=60)
    for i in range(5 * MAX_METRICS_PER_BATCH):
        buf.metric("r", "x", float(i), 0, i)
    buf.flush(timeout=0.5)  # the whole flush takes ~1.5 s, but never 0.5 s without progress
    assert sum(len(b[1]) for b in rec.batches) == 5 * MAX_METRICS_PER_BATCH
    buf.close()


class Rejecting(Recorder):
    """A store that refuses any batch holding metric ``bad`` (and writes nothing of it)."""

    def __call__(self, run_id: str, metrics: list, params: list, tags: list) -> None:
        if any(m[0] == "bad" for m in metrics):
            raise InvalidInput("Invalid value for metric 'bad'")
        super().__call__(run_id, metrics, params, tags)


def test_a_rejected_value_is_reported_by_name_and_the_rest_of_its_batch_is_kept() -> None:
    rec = Rejecting()
    buf = LogBuffer(rec, interval=60)
    for i in range(600):
        buf.metric("r", "loss", float(i), 0, i)
        if i == 321:
            buf.metric("r", "bad", 1.0, 0, i)
    buf.param("r", "lr", "0.1")
    buf.tag("r", "team", "growth")
    buf.flush(timeout=10)
    assert sorted(m[3] for b in rec.batches for m in b[1]) == list(range(600))
    assert [p for b in rec.batches for p in b[2]] == [("lr", "0.1")]
    assert [t for b in rec.batches for t in b[3]] == [("team", "growth")]
    assert len(buf.rejected) == 1
    assert "metric 'bad'" in buf.rejected[0] and "run r" in buf.rejected[0]
    assert buf.last_error == buf.rejected[0]
    buf.close()


def test_close_while_the_flusher_is_stuck_returns_the_batch_it_holds() -> None:
    release = threading.Event()

    class Stuck(Recorder):
        def __call__(self, run_id: str, metrics: list, params: list, tags: list) -> None:
            release.wait(30)  # a send that hangs (a server that stopped answering)
            super().__call__(run_id, metrics, params, tags)

    rec = Stuck()
    buf = LogBuffer(rec, interval=60)
    for i in range(50):
        buf.metric("r", "loss", float(i), 0, i)
    buf.param("r", "lr", "0.1")
    buf._wake.set()
    for _ in range(100):  # wait until the flusher has taken the values and is stuck
        if buf._held:
            break
        threading.Event().wait(0.05)
    left = buf.close(timeout=0.2)
    release.set()
    assert sorted(m[3] for b in left for m in b[1]) == list(range(50))
    assert [p for b in left for p in b[2]] == [("lr", "0.1")]


@pytest.mark.parametrize(
    ("text", "seconds"), [(None, 1.0), ("0.2", 0.2), ("0", 0.05), ("5", 1.0), ("soon", 1.0)]
)
def test_flush_interval_from_the_environment_is_kept_in_bounds(
    monkeypatch: pytest.MonkeyPatch, text: str | None, seconds: float
) -> None:
    if text is None:
        monkeypatch.delenv(FLUSH_ENV, raising=False)
    else:
        monkeypatch.setenv(FLUSH_ENV, text)
    assert interval_from_env() == pytest.approx(seconds)
