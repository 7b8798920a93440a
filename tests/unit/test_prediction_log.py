"""The prediction log: durable rows, bounded per model, labels joined (last wins), live metrics."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.models.live_metrics import compute, infer_task
from jupyter_mlops.models.prediction_log import LogWriter, PredictionLog, new_ids


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float)})


def test_rows_survive_reopening_with_inputs_and_predictions(tmp_path: Path) -> None:
    db = tmp_path / "predictions.db"
    log = PredictionLog(db, "churn")
    ids = new_ids(4)
    rows = _frame(4)
    log.append("1", "champion", ids, rows, np.array([0, 1, 1, 0]))
    log.close()
    again = PredictionLog(db, "churn")
    got = again.predictions()
    assert got["id"].tolist() == ids
    assert got["prediction"].tolist() == [0, 1, 1, 0]
    assert set(got["version"]) == {"1"} and set(got["role"]) == {"champion"}
    inputs, predictions = again.recent_inputs("1", 3)
    pd.testing.assert_frame_equal(inputs, rows.iloc[1:].reset_index(drop=True))
    assert predictions.tolist() == [1, 1, 0]
    assert PredictionLog(db, "other").rows() == 0


def test_log_keeps_only_the_last_limit_rows_of_each_model(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    log = PredictionLog(db, "m", limit=1000)
    other = PredictionLog(db, "n", limit=1000)
    other.append("1", "champion", ["x"], None, [1.0])
    for batch in range(30):
        ids = [f"{batch}-{i}" for i in range(100)]
        log.append("1", "champion", ids, _frame(100, batch), np.arange(100) + batch * 100)
    kept = log.predictions()
    assert len(kept) <= 1000 + 1000 // 50 and len(kept) >= 1000
    assert kept["prediction"].max() == 2999  # the newest stay
    assert kept["prediction"].min() > 1000
    inputs, _ = log.recent_inputs("1", len(kept))
    assert len(inputs) == len(kept)  # every kept row still has its input row
    assert other.rows() == 1  # another model's rows are not touched


def test_labels_late_out_of_order_duplicated_and_unknown(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    ids = new_ids(6)
    log.append("1", "champion", ids, None, [0, 1, 1, 0, 1, 0])
    result = log.add_labels([ids[5], ids[0], ids[0], "nope", ids[1]], [0, 1, 0, 1, 1])
    assert result.to_dict() == {"received": 5, "stored": 4, "unknown": 1}
    frame = log.labelled("1", "champion")
    assert dict(zip(frame["id"], frame["label"], strict=True)) == {ids[5]: 0, ids[0]: 0, ids[1]: 1}
    assert log.counter("unknown_labels") == 1
    log.add_labels([ids[0]], [1])  # a later label of an id replaces the earlier one
    labels = log.labelled("1", "champion")
    assert dict(zip(labels["id"], labels["label"], strict=True))[ids[0]] == 1
    assert log.label_count("1", "champion") == 3
    (perf,) = log.performance()
    assert perf.task == "classification" and perf.labels == 3
    assert perf.metrics["accuracy"] == pytest.approx(2 / 3)  # predicted 0,0,1 vs 0,1,1


def test_a_label_that_precedes_its_prediction_joins_when_it_arrives(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    assert log.add_labels(["r-0"], [2.5]).unknown == 1
    log.append("1", "champion", ["r-0"], None, [2.0])
    assert log.labelled("1", "champion")["label"].tolist() == [2.5]


def test_bad_labels_change_nothing(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    log.append("1", "champion", ["a", "b"], None, [0, 1])
    with pytest.raises(InvalidInput, match="which are numbers"):
        log.add_labels(["a", "b"], [1, "yes"])
    with pytest.raises(InvalidInput, match="is missing"):
        log.add_labels(["a"], [None])
    with pytest.raises(InvalidInput, match="2 ids but 1 labels"):
        log.add_labels(["a", "b"], [1])
    assert log.labelled("1", "champion").empty and log.counter("labels_received") == 0


def test_shadow_rows_of_two_versions_join_one_label(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    log.append("1", "champion", ["a", "b"], None, [0, 0])
    log.append("2", "challenger", ["a", "b"], None, [1, 0])
    log.add_labels(["a", "b"], [1, 0])
    perf = {(p.version, p.role): p.metrics["accuracy"] for p in log.performance()}
    assert perf == {("1", "champion"): 0.5, ("2", "challenger"): 1.0}


def _append_from_process(db: str, worker: int) -> None:
    log = PredictionLog(Path(db), "m")
    for batch in range(20):
        ids = [f"w{worker}-{batch}-{i}" for i in range(10)]
        log.append("1", "champion", ids, None, list(range(10)))


def test_processes_appending_together_lose_no_row(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    PredictionLog(Path(db), "m").close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(db, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    frame = PredictionLog(Path(db), "m").predictions()
    assert len(frame) == 400 and frame["id"].is_unique


def test_writer_queues_then_writes_everything_on_close(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db", "m")
    writer = LogWriter(log, interval=30)
    writer.append("1", "champion", ["a"], np.array([[1.0, 2.0]]), [3.5])
    writer.append("1", "champion", ["b"], np.array([[1.5, 2.5]]), [4.5])
    writer.close()
    assert log.predictions()["id"].tolist() == ["a", "b"]


def test_classifier_figures_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 200)
    predicted = np.where(rng.random(200) < 0.7, truth, rng.integers(0, 3, 200))
    proba = rng.dirichlet(np.ones(3), 200)
    got = compute("classification", predicted.tolist(), truth.tolist(), ([0, 1, 2], proba))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(truth, predicted))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(truth, predicted, average="macro"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(truth, proba, labels=[0, 1, 2]))
    text = compute("classification", ["a", "b", "b"], ["a", "a", "b"])
    assert text["accuracy"] == pytest.approx(2 / 3)


def test_regressor_figures_match_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(size=100)
    predicted = truth + rng.normal(scale=0.3, size=100)
    got = compute("regression", predicted.tolist(), truth.tolist())
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(truth, predicted)))
    assert got["r2"] == pytest.approx(skm.r2_score(truth, predicted))
    assert infer_task(predicted.tolist(), truth.tolist()) == "regression"
    assert infer_task([0, 1, 2], [1, 1, 0]) == "classification"
