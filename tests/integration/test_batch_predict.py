"""``jupyter mlops predict`` and ``mlops.predict``: batch scoring recorded as a run and joinable.

A real registered scikit-learn model on a real SQLite store; inputs are real
Parquet and CSV files, a folder and a snapshot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.models.prediction_log import open_log
from tests.serving import register_wine, wine

pytestmark = pytest.mark.integration


def _customers() -> tuple[pd.DataFrame, pd.Series]:
    X, y = wine()
    frame = X.assign(customer_id=[f"c{i:03d}" for i in range(len(X))])
    return frame, y


def _predict_run(client: Any) -> Any:
    (run,) = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        "attributes.run_name = 'predict wine'",
    )
    return run


def test_parquet_file_scored_in_batches_as_a_run_with_the_log_and_feedback(
    store: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = register_wine()
    frame, y = _customers()
    source = tmp_path / "customers.parquet"
    frame.to_parquet(source, row_group_size=50)
    out = tmp_path / "scores.parquet"

    argv = ["predict", "wine@production", str(source), "-o", str(out), "--id-column"]
    code = main([*argv, "customer_id", "--batch-size", "40", "--json"])
    summary = json.loads(capsys.readouterr().out)

    assert code == 0
    scores = pd.read_parquet(out)
    model = mlops.load_model("wine@production")
    features = frame.drop(columns="customer_id")
    assert scores["customer_id"].tolist() == frame["customer_id"].tolist()
    assert scores["prediction"].tolist() == model.predict(features).tolist()
    proba = model.predict_proba(features)
    for n, cls in enumerate(model.classes_):
        assert np.allclose(scores[f"proba_{cls}"], proba[:, n])
    assert set(scores["model_version"]) == {version}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    run = _predict_run(client)
    assert summary["run_id"] == run.info.run_id and summary["rows"] == len(frame)
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["mlops.predict.version"] == version
    assert tags["mlops.predict.input"] == str(source)
    import hashlib

    digest = hashlib.sha256(b"customers.parquet\0" + source.read_bytes()).hexdigest()
    assert tags["mlops.predict.input_digest"] == digest
    assert tags["mlops.predict.reference"] == "wine-train@v1"
    assert metrics["rows"] == len(frame) and metrics["seconds"] > 0
    assert metrics["drift.share_drifted"] == 0.0  # scored the training rows themselves
    assert run.info.status == "FINISHED"

    log = open_log("wine")
    logged = log.predictions(frame["customer_id"].tolist())
    assert len(logged) == len(frame)
    assert set(logged["role"]) == {"batch"} and set(logged["version"]) == {version}
    log.close()

    labels = tmp_path / "labels.csv"
    pd.DataFrame({"customer_id": frame["customer_id"], "label": y}).to_csv(labels, index=False)
    assert main(["feedback", "wine", str(labels), "--id-column", "customer_id"]) == 0
    printed = capsys.readouterr().out
    accuracy = float(np.mean(scores["prediction"].to_numpy() == y.to_numpy()))
    assert f"version {version} (batch): accuracy {accuracy:.4g}" in printed


def test_csv_folder_without_id_column_gets_rows_and_request_ids(
    store: Any, client: Any, tmp_path: Path
) -> None:
    register_wine()
    X, y = wine()
    folder = tmp_path / "incoming"
    folder.mkdir()
    X.iloc[:100].to_csv(folder / "part-0.csv", index=False)
    X.iloc[100:].to_csv(folder / "part-1.csv", index=False)
    out = tmp_path / "scores.csv"

    assert main(["predict", "wine", str(folder), "-o", str(out), "--batch-size", "30"]) == 0

    scores = pd.read_csv(out)
    model = mlops.load_model("wine@production")
    assert scores["row"].tolist() == list(range(len(X)))
    assert scores["prediction"].tolist() == model.predict(X).tolist()
    run_id = _predict_run(client).info.run_id
    assert scores["request_id"].tolist() == [f"{run_id}-{n}" for n in range(len(X))]

    labels = pd.DataFrame({"request_id": scores["request_id"], "label": y})
    mlops.feedback("wine", labels)
    log = open_log("wine")
    (perf,) = log.performance(window=len(X))
    log.close()
    assert perf.role == "batch" and perf.labels == len(X)
    assert perf.metrics["accuracy"] == pytest.approx(float(np.mean(scores["prediction"] == y)))


def test_parquet_output_of_many_batches_reads_back_as_one_frame_of_the_api(
    store: Any, client: Any, tmp_path: Path
) -> None:
    register_wine()
    X, _ = wine()
    source, out = tmp_path / "in.parquet", tmp_path / "scores.parquet"
    X.to_parquet(source)

    assert main(["predict", "wine", str(source), "-o", str(out), "--batch-size", "30"]) == 0

    # the later batches are written from Arrow arrays, the first through pandas: one file
    scores = pd.read_parquet(out)
    run_id = _predict_run(client).info.run_id
    expected = mlops.predict("wine", X, batch_size=30)  # the frames the API returns
    expected["request_id"] = [f"{run_id}-{n}" for n in range(len(X))]
    pd.testing.assert_frame_equal(scores, expected)
    model = mlops.load_model("wine")
    assert scores["prediction"].tolist() == model.predict(X).tolist()


def test_snapshot_input_is_a_dataset_input_and_the_api_returns_the_frame(
    store: Any, client: Any
) -> None:
    register_wine()
    frame, _ = _customers()
    mlops.snapshot(frame.iloc[:60], name="customers")

    scores = mlops.predict("wine@production", "customers@v1", id_column="customer_id")

    model = mlops.load_model("wine@production")
    expected = model.predict(frame.iloc[:60].drop(columns="customer_id"))
    assert scores["prediction"].tolist() == expected.tolist()
    assert scores["customer_id"].tolist() == frame["customer_id"].iloc[:60].tolist()
    run = client.get_run(scores.attrs["mlops"]["run_id"])
    assert run.info.run_name == "predict wine"
    inputs = {(i.dataset.name, t.value) for i in run.inputs.dataset_inputs for t in i.tags}
    assert ("customers", "scoring") in inputs
    assert run.data.tags["mlops.predict.input"] == "customers@v1"


def test_dataframe_input_matches_model_predict(store: Any) -> None:
    register_wine()
    X, _ = wine()
    scores = mlops.predict("wine", X.iloc[:25], batch_size=7)
    expected = mlops.load_model("wine").predict(X.iloc[:25])
    assert scores["prediction"].tolist() == expected.tolist()
    assert scores.attrs["mlops"]["rows"] == 25


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", r"lacks column\(s\) alcohol the model needs"),
        ("dtype", r"column 'alcohol' is \w+, the model's signature needs double numbers"),
        ("unreadable", "cannot read"),
        ("absent", "no file, folder or snapshot named"),
        ("model", "no registered model named 'nothing'"),
        ("id", "has no id column 'customer_id'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_no_output(
    store: Any,
    client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    message: str,
) -> None:
    register_wine()
    X, _ = wine()
    source = tmp_path / "in.csv"
    ref = "wine@production"
    if case == "missing":
        X.drop(columns="alcohol").to_csv(source, index=False)
    elif case == "dtype":
        # the bad value only in the second batch: the first batch was written, then removed
        X.astype({"alcohol": object}).assign(
            alcohol=["twelve" if i == 50 else v for i, v in enumerate(X["alcohol"])]
        ).to_csv(source, index=False)
    elif case == "unreadable":
        source = tmp_path / "in.parquet"
        source.write_bytes(b"not parquet at all")
    elif case == "absent":
        source = tmp_path / "nowhere.parquet"
    else:
        X.to_csv(source, index=False)
        ref = "nothing@production" if case == "model" else ref
    out = tmp_path / "scores.parquet"
    argv = ["predict", ref, str(source), "-o", str(out), "--batch-size", "40"]
    if case == "id":
        argv += ["--id-column", "customer_id"]
    capsys.readouterr()  # what registering printed (a tracking server's waiting notice)

    assert main(argv) == 2

    err = capsys.readouterr().err.strip()
    assert re.search(message, err), err
    assert "\n" not in err and err.startswith("jupyter mlops predict: ")
    left = {p.name for p in tmp_path.iterdir()} - {"project", "shared-snapshots", source.name}
    assert not left  # neither the output nor its temporary file
    if case in ("dtype", "id", "missing"):
        assert _predict_run(client).info.status == "FAILED"
    if case == "dtype":  # the first batch was scored before the second failed: it stays logged
        import hashlib

        run = _predict_run(client)
        digest = hashlib.sha256(b"in.csv\0" + source.read_bytes()).hexdigest()
        assert run.data.tags["mlops.predict.input_digest"] == digest  # it names its input
        run_id = run.info.run_id
        log = open_log("wine")
        logged = log.predictions()
        log.close()
        assert logged["id"].tolist() == [f"{run_id}-{n}" for n in range(40)]


def test_magic_scores_a_notebook_frame_and_prints_the_summary(
    ip: Any, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from IPython.core.error import UsageError

    register_wine()
    ip.run_cell("from tests.serving import wine\nX, y = wine()\nnew = X.iloc[:30]\n").raise_error()
    scores = ip.run_line_magic("mlops", "predict wine@production new --batch-size 8")
    printed = capsys.readouterr().out
    run_id = _predict_run(client).info.run_id
    assert "predict wine/1: 30 rows from DataFrame in " in printed and run_id in printed
    expected = mlops.load_model("wine@production").predict(ip.user_ns["new"])
    assert scores["prediction"].tolist() == expected.tolist()
    with pytest.raises(UsageError, match=r"no file, folder or snapshot named 'nowhere\.csv'"):
        ip.run_line_magic("mlops", "predict wine@production nowhere.csv")


_PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    "sys.exit(code)\n"
)


def _peak_mb(argv: list[str]) -> int:
    """Peak resident MB of ``jupyter-mlops ARGV`` run in its own process."""
    import subprocess
    import sys

    cli = str(Path(sys.executable).with_name("jupyter-mlops"))
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, cli, *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_two_million_rows_in_one_row_group_are_scored_in_bounded_memory(
    store: Any, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    register_wine()
    X, _ = wine()
    rng = np.random.default_rng(0)
    paths = {}
    for rows in (200_000, 2_000_000):
        picks = rng.integers(0, len(X), rows)
        noise = rng.normal(scale=0.01, size=(rows, X.shape[1]))
        frame = pd.DataFrame(X.to_numpy()[picks] * (1 + noise), columns=X.columns)
        paths[rows] = tmp_path / f"in-{rows}.parquet"
        # one row group: a reader that holds what it read until the file's end holds it all
        pq.write_table(pa.Table.from_pandas(frame), paths[rows], row_group_size=rows)
    del frame

    peaks = {
        rows: _peak_mb(["predict", "wine@production", str(path), "-o", str(path) + ".out.parquet"])
        for rows, path in paths.items()
    }

    # 1,800,000 more rows (about 190 MB of input) cost at most a few batches more
    assert peaks[2_000_000] <= 1536, peaks
    assert peaks[2_000_000] - peaks[200_000] <= 120, peaks
    scores = pd.read_parquet(str(paths[2_000_000]) + ".out.parquet", columns=["prediction"])
    assert len(scores) == 2_000_000
    head = pd.read_parquet(paths[2_000_000]).iloc[:1000]
    expected = mlops.load_model("wine@production").predict(head)
    assert scores["prediction"].iloc[:1000].tolist() == expected.tolist()


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_inputs_the_log_bound_drops_during_the_call_are_not_written(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from jupyter_mlops.models.prediction_log import log as log_module
    from jupyter_mlops.models.prediction_log import rows as rows_module

    version = register_wine()
    X, _ = wine()
    frame = pd.concat([X] * 7, ignore_index=True).iloc[:1200]
    source = tmp_path / f"in.{kind}"
    frame.to_parquet(source) if kind == "parquet" else frame.to_csv(source, index=False)
    monkeypatch.setattr(log_module, "DEFAULT_LIMIT", 600)  # the log keeps 600 rows
    written: list[int] = []
    real = rows_module.inputs_file

    def counted(inputs: Any, n: int, folder: Path) -> Any:
        if inputs is not None:
            written.append(n)
        return real(inputs, n, folder)

    monkeypatch.setattr(rows_module, "inputs_file", counted)

    out = str(tmp_path / "scores.parquet")
    assert main(["predict", "wine", str(source), "-o", out, "--batch-size", "300"]) == 0

    # a Parquet file's row count is known from its footer: the first 600 rows' inputs,
    # dropped by the log's bound before the call ends, are not written; a CSV's is not
    assert written == ([300, 300] if kind == "parquet" else [300] * 4)
    log = open_log("wine")
    inputs, predictions = log.recent_inputs(version, 600, role="batch")
    log.close()
    assert len(predictions) == 600  # the log ends the same either way
    pd.testing.assert_frame_equal(inputs, frame.iloc[600:].reset_index(drop=True))
