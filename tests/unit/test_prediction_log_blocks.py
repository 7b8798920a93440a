"""Batches of consecutive ids kept as blocks: the same answers as rows stored one by one."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from jupyter_mlops.models.prediction_log import PredictionLog
from jupyter_mlops.models.prediction_log.blocks import BLOCK_MIN_ROWS, NumberedIds, consecutive

N = 1000


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float)})


def _ids(prefix: str, n: int, first: int = 0) -> list[str]:
    return [f"{prefix}-{i}" for i in range(first, first + n)]


def _blocks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM blocks").fetchone()[0])


def test_consecutive_ids_only_are_recognised() -> None:
    assert consecutive(_ids("run-a1", 5, 7)) == ("run-a1", 7)
    assert consecutive(["r-1", "r-2", "r-4"]) is None
    assert consecutive(["r-01", "r-02"]) is None  # "01" is not how a number is written
    assert consecutive(["a-1", "b-2"]) is None
    assert consecutive([1, 2, 3]) is None


def test_a_block_answers_like_rows_stored_one_by_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    inputs, predictions = _frame(N), rng.integers(0, 2, N)
    labels = rng.integers(0, 2, N)
    block = PredictionLog(tmp_path / "block.db", "m")
    block.append("1", "batch", _ids("run", N), inputs, predictions)
    rows = PredictionLog(tmp_path / "rows.db", "m")
    for start in range(0, N, 100):  # under the block size: one row per prediction
        part = slice(start, start + 100)
        rows.append("1", "batch", _ids("run", 100, start), inputs[part], predictions[part])
    assert _blocks(tmp_path / "block.db") == 1 and _blocks(tmp_path / "rows.db") == 0

    for log in (block, rows):
        assert log.rows() == N
        assert log.predictions(ids=["run-5", "run-999"])["prediction"].tolist() == [
            predictions[5],
            predictions[999],
        ]
        got, values = log.recent_inputs("1", 10)
        pd.testing.assert_frame_equal(got, inputs.iloc[-10:].reset_index(drop=True))
        assert values.tolist() == predictions[-10:].tolist()
        chosen = list(range(0, N, 7))
        result = log.add_labels([f"run-{i}" for i in chosen] + ["nobody"], [*labels[chosen], 1])
        assert (result.stored, result.unknown) == (len(chosen) + 1, 1)
    assert [(p.version, p.role, p.labels, p.metrics) for p in block.performance()] == [
        (p.version, p.role, p.labels, p.metrics) for p in rows.performance()
    ]
    assert block.performance()[0].labels == len(range(0, N, 7))
    # labelling the same ids again materialises nothing twice
    block.add_labels(["run-0", "run-7"], [1, 1])
    assert block.rows() == N and block.label_count("1", "batch") == len(range(0, N, 7))


def test_labels_that_came_before_their_block_join_it(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    assert log.add_labels(["early-3", "early-4"], [1, 0]).unknown == 2
    log.append("2", "batch", _ids("early", N), None, np.ones(N, dtype=int))
    frame = log.labelled("2", "batch")
    assert frame["id"].tolist() == ["early-3", "early-4"]
    assert frame["prediction"].tolist() == [1, 1]


def test_text_predictions_in_a_block_check_label_kinds(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    log.append("1", "batch", _ids("t", N), None, np.array(["yes", "no"] * (N // 2)))
    assert log.predictions(ids=["t-1"])["prediction"].tolist() == ["no"]
    try:
        log.add_labels(["t-1"], [1])
    except Exception as exc:  # a number for text predictions is refused
        assert "text" in str(exc)
    else:
        raise AssertionError("a numeric label of text predictions was accepted")
    assert log.add_labels(["t-1"], ["no"]).unknown == 0


def test_blocks_are_pruned_whole_and_the_newest_kept(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m", limit=2 * N)
    log.append("1", "champion", ["single"], None, [5])
    for batch in range(6):
        log.append("1", "batch", _ids(f"b{batch}", N), _frame(N, batch), np.full(N, batch))
    kept = log.predictions()
    assert 2 * N <= len(kept) <= 2 * N + N  # the limit, give or take one block
    assert kept["prediction"].max() == 5 and "single" not in set(kept["id"])
    assert set(kept["prediction"]) <= {3, 4, 5}
    inputs, _ = log.recent_inputs("1", len(kept), role="batch")
    assert len(inputs) == len(kept)  # kept rows keep their input rows
    expected = pd.concat([_frame(N, b) for b in range(6)], ignore_index=True).iloc[-len(kept) :]
    pd.testing.assert_frame_equal(inputs, expected.reset_index(drop=True))
    # numeric inputs of blocks are files beside the database; those of pruned blocks are gone
    assert len(list(log.inputs_dir.glob("*.npy"))) == len(kept) // N


def _append_blocks(db: str, worker: int) -> None:
    log = PredictionLog(Path(db), "m")
    for batch in range(10):
        log.append("1", "batch", _ids(f"w{worker}-{batch}", BLOCK_MIN_ROWS), None, np.arange(256))
        log.append("1", "champion", [f"w{worker}-single-{batch}"], None, [1])


def test_processes_appending_blocks_and_rows_together_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    PredictionLog(Path(db), "m").close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_blocks, args=(db, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    log = PredictionLog(Path(db), "m")
    frame = log.predictions()
    assert len(frame) == 2 * 10 * (BLOCK_MIN_ROWS + 1) == log.rows()
    assert frame["id"].is_unique
    with sqlite3.connect(db) as conn:  # sequence numbers of blocks and rows never overlap
        spans = conn.execute("SELECT seq, count FROM blocks ORDER BY seq").fetchall()
        singles = [r[0] for r in conn.execute("SELECT seq FROM predictions")]
    covered = [s + i for s, c in spans for i in range(c)]
    assert len(set(covered) | set(singles)) == len(covered) + len(singles)
    assert log.last_seq() == max(covered + singles)


def test_numbered_ids_are_a_block_without_strings_made_per_row(tmp_path: Path) -> None:
    ids = NumberedIds("run", 10, N)
    assert len(ids) == N and ids[0] == "run-10" and ids[-1] == f"run-{N + 9}"
    assert list(ids[:2]) == ["run-10", "run-11"]
    log = PredictionLog(tmp_path / "p.db", "m")
    log.append("1", "batch", ids, None, np.arange(N))
    assert _blocks(tmp_path / "p.db") == 1
    assert log.predictions()["id"].tolist() == list(ids)


def test_the_newest_rows_mix_blocks_and_single_rows_in_order(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    log.append("1", "batch", _ids("old", N), None, np.zeros(N, dtype=int))
    log.append("1", "champion", ["a"], None, [1])
    log.append("1", "batch", _ids("new", N), None, np.full(N, 2))
    log.append("1", "champion", ["b"], None, [3])
    log.add_labels(["old-5"], [0])  # a materialised row keeps its place in the order
    assert log.predictions(last=3)["id"].tolist() == [f"new-{N - 2}", f"new-{N - 1}", "b"]
    got = log.predictions(last=N + 2)["id"].tolist()
    assert got == ["a", *_ids("new", N), "b"]
    assert log.predictions()["id"].tolist() == [*_ids("old", N), "a", *_ids("new", N), "b"]
