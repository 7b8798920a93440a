"""Batch scoring's stages: read ahead and written behind in order, errors where they belong.

And the drift sample: merging only the rows that can enter it gives the sample (and
its order) that merging every row gives, so the logged figures do not change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.models.batch_pipeline import InOrder, prefetch
from jupyter_mlops.models.batch_scoring import _Sample


def _source(n: int, fail_at: int | None, closed: list[bool]) -> Iterator[int]:
    try:
        for i in range(n):
            if i == fail_at:
                raise InvalidInput(f"cannot read item {i}")
            yield i
    finally:
        closed.append(True)


def test_prefetch_yields_every_item_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(50))
    assert threads and threading.current_thread().name not in threads


def test_prefetch_raises_the_error_after_the_items_before_it() -> None:
    closed: list[bool] = []
    got: list[int] = []
    with pytest.raises(InvalidInput, match="cannot read item 4"):
        for item in prefetch(_source(10, 4, closed)):
            got.append(item)
    assert got == [0, 1, 2, 3] and closed == [True]


def test_leaving_a_prefetch_early_closes_the_source() -> None:
    closed: list[bool] = []
    reader = prefetch(_source(1000, None, closed))
    assert next(reader) == 0
    reader.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_in_order_runs_every_call_in_submission_order() -> None:
    seen: list[int] = []
    writes = InOrder(seen.append, depth=2)
    for n in range(100):
        writes.submit(n)
    writes.finish()
    assert seen == list(range(100))


def test_in_order_raises_the_first_error_and_runs_nothing_after_it() -> None:
    seen: list[int] = []
    gate = threading.Event()

    def write(n: int) -> None:
        gate.wait()
        if n == 1:
            raise OSError("disk full")
        seen.append(n)

    writes = InOrder(write, depth=10)
    for n in range(5):
        writes.submit(n)
    gate.set()
    with pytest.raises(OSError, match="disk full"):
        writes.finish()
    assert seen == [0]


def _merged(batches: list[pd.DataFrame], size: int, seed: int) -> pd.DataFrame:
    """The sample merging every row would keep: every key drawn, the smallest kept."""
    rng = np.random.default_rng(seed)
    keyed = [b.assign(__key=rng.random(len(b))) for b in batches]
    every = pd.concat(keyed, ignore_index=True)
    kept = every.nsmallest(size, "__key") if len(every) > size else every
    return kept.drop(columns="__key").reset_index(drop=True)


@pytest.mark.parametrize(
    ("lengths", "seed"),
    [
        ([30], 3),  # never full
        ([40, 60], 3),  # exactly full, then no more
        ([40, 60, 25], 3),  # exactly full, then a batch
        ([100, 1], 21),  # exactly full, then a row whose key is above every key kept
        ([250, 0, 7, 500, 1, 0, 99], 3),  # over full at once, empty batches between
        ([10] * 60, 3),  # many small batches
    ],
)
def test_the_drift_sample_is_the_one_merging_every_row_gives(lengths: list[int], seed: int) -> None:
    rng = np.random.default_rng(7)
    batches = [pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 5, n)}) for n in lengths]
    sample = _Sample(100, seed=seed)
    for batch in batches:
        sample.add(batch)
    got = sample.rows()
    assert got is not None
    pd.testing.assert_frame_equal(got.reset_index(drop=True), _merged(batches, 100, seed))
