"""The MLflow-free run writer leaves what MLflow leaves, and declines what it cannot do exactly."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import Settings
from jupyter_mlops.errors import InvalidInput, MlopsError
from jupyter_mlops.tracking.mlflow_bridge.store import sqlite_path
from jupyter_mlops.tracking.mlflow_tables.run_writes import SqliteRunWriter
from jupyter_mlops.tracking.writing.owned_run import MlflowRunWriter, RunWriter
from tests.store_state import extra_column

pytestmark = [pytest.mark.integration, pytest.mark.sqlite_only, pytest.mark.compat]

TAGS = {"mlflow.user": "ana", "mlops.kernel": "python3", "mlflow.source.type": "NOTEBOOK"}
PARAMS = {"lr": "0.1", "layers": "[64, 32]", "name": "ünïcode ✓"}


def _writer(store: Settings) -> SqliteRunWriter:
    writer = SqliteRunWriter.open(store)
    assert writer is not None
    return writer


def _write_through(writer: RunWriter, run_id: str, files: Path) -> None:
    writer.set_tag(run_id, "mlops.heartbeat", "1")
    writer.set_tags(run_id, {"mlops.heartbeat": "2", "mlops.duration_s": "0.5"})
    writer.log_artifact(run_id, str(files / "nb.ipynb"), "notebook")
    writer.log_text(run_id, "<p>é</p>", "output/nb.html")
    writer.log_text(run_id, '{"a": 1}', "headless.json")
    writer.set_terminated(run_id, "FAILED")


def _artifacts(uri: str) -> dict[str, tuple[bytes, int]]:
    root = Path(uri.removeprefix("file://"))
    return {
        str(p.relative_to(root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _seen(client: Any, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    info = run.info
    return {
        "tags": run.data.tags,
        "params": run.data.params,
        "status": info.status,
        "name": info.run_name,
        "user": info.user_id,
        "stage": info.lifecycle_stage,
        "ended": info.end_time >= info.start_time,
        "uri": info.artifact_uri.replace(run_id, "<id>"),
        "files": _artifacts(info.artifact_uri),
        "listed": sorted(a.path for a in client.list_artifacts(run_id, "output")),
    }


def test_a_run_written_directly_reads_back_as_one_written_by_mlflow(
    store: Settings, client: Any, tmp_path: Path
) -> None:
    from mlflow.entities import Param

    experiment_id = client.create_experiment("direct")
    (tmp_path / "nb.ipynb").write_text('{"cells": []}')
    os.chmod(tmp_path / "nb.ipynb", 0o640)

    direct = _writer(store).create_run(experiment_id, "train", TAGS, PARAMS)
    assert direct.experiment_id == experiment_id
    _write_through(_writer(store), direct.run_id, tmp_path)

    theirs = client.create_run(experiment_id, run_name="train", tags=TAGS)
    client.log_batch(theirs.info.run_id, params=[Param(k, v) for k, v in PARAMS.items()])
    _write_through(MlflowRunWriter(client), theirs.info.run_id, tmp_path)

    assert _seen(client, direct.run_id) == _seen(client, theirs.info.run_id)
    found = client.search_runs([experiment_id], "params.lr = '0.1' and tags.mlops.heartbeat = '2'")
    assert {r.info.run_id for r in found} == {direct.run_id, theirs.info.run_id}


class _Recording:
    """MLflow's writer, noting which runs it was asked to create."""

    def __init__(self, client: Any) -> None:
        self.inner = MlflowRunWriter(client)
        self.asked: list[str] = []

    def create_run(self, experiment_id: str, run_name: str, *args: Any) -> Any:
        self.asked.append(run_name)
        return self.inner.create_run(experiment_id, run_name, *args)


def test_what_it_cannot_do_exactly_is_left_to_mlflow(store: Settings, client: Any) -> None:
    kept = client.create_experiment("kept")
    gone = client.create_experiment("gone")
    client.delete_experiment(gone)
    remote = client.create_experiment("remote", artifact_location="s3://bucket/runs")
    mlflow = _Recording(client)
    writer = SqliteRunWriter(_writer(store).db, lambda: mlflow)  # type: ignore[arg-type, return-value]
    cases = {
        "missing experiment": ("424242", TAGS, PARAMS),
        "deleted experiment": (gone, TAGS, PARAMS),
        "remote artifacts": (remote, TAGS, PARAMS),
        "bad param name": (kept, TAGS, {"a/../b": "1"}),
        "long param value": (kept, TAGS, {"a": "x" * 6001}),
        "other run name tag": (kept, {"mlflow.runName": "s"}, {}),
    }
    refused = []
    for name, (experiment_id, tags, params) in cases.items():
        try:
            writer.create_run(experiment_id, name, tags, params)
        except MlopsError:
            refused.append(name)
    assert mlflow.asked == list(cases)
    assert "remote artifacts" not in refused and "bad param name" in refused
    assert "deleted experiment" in refused and "missing experiment" in refused
    runs = {r.info.run_name: r for r in client.search_runs([kept, remote])}
    assert runs["remote artifacts"].info.artifact_uri.startswith("s3://bucket/runs/")
    assert len(runs["long param value"].data.params["a"]) == 6000  # MLflow truncates it


def test_it_declines_a_store_it_was_not_tested_with(
    store: Settings, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_path(store.tracking_uri)
    assert db is not None and SqliteRunWriter.open(store) is not None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert SqliteRunWriter.open(store) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    with extra_column(db, "latest_metrics"):  # a table it writes changed shape
        assert SqliteRunWriter.open(store) is None
    with extra_column(db, "spans"):  # a table it never touches: still written directly
        assert SqliteRunWriter.open(store) is not None


def test_a_deleted_run_or_an_escaping_path_is_refused(store: Settings, client: Any) -> None:
    writer = _writer(store)
    run = writer.create_run(client.create_experiment("e"), "r", TAGS, {})
    with pytest.raises(InvalidInput, match="leaves the run's artifacts"):
        writer.log_text(run.run_id, "x", "../../escape.txt")
    client.delete_run(run.run_id)
    with pytest.raises(InvalidInput, match="must be in the 'active' state"):
        writer.set_terminated(run.run_id, "FINISHED")
    assert client.get_run(run.run_id).info.status == "RUNNING"


def test_a_missing_experiment_is_created_as_mlflows_path_creates_it(
    store: Settings, client: Any
) -> None:
    from jupyter_mlops.errors import Conflict
    from jupyter_mlops.tracking.mlflow_tables.run_writes import experiment_for
    from jupyter_mlops.tracking.writing.tracker import Tracker

    direct_id = experiment_for(store, "made directly")
    assert experiment_for(store, "made directly") == direct_id
    theirs_id = Tracker(store).set_experiment("made by mlflow")

    def seen(experiment_id: str) -> tuple[Any, ...]:
        e = client.get_experiment(experiment_id)
        return e.artifact_location, e.lifecycle_stage, e.tags, e.creation_time > 0

    assert seen(direct_id) == seen(theirs_id)
    client.delete_experiment(direct_id)
    with pytest.raises(Conflict, match="is deleted"):
        experiment_for(store, "made directly")


#: batches as the log buffer sends them: (metrics, params, tags); values out of order,
#: repeated, NaN and infinite, a step going back, a renaming tag, a param logged twice alike
BATCHES: list[tuple[list, list, list]] = [
    (
        [("loss", 0.9, 1000, 0), ("loss", 0.5, 1001, 2), ("loss", 0.7, 1002, 1)],
        [("lr", "0.1"), ("depth", "3")],
        [("mlops.heartbeat", "1")],
    ),
    (
        [
            ("loss", 0.5, 1001, 2),  # the same value again: kept once
            ("acc", float("nan"), 1003, 0),
            ("acc", float("inf"), 1004, 1),
            ("gap", float("-inf"), 1004, 0),
            ("tie", 1.0, 2000, 5),
            ("tie", 2.0, 2000, 5),  # same step and time: the larger value is the latest
            ("int_metric", 3, 1005, 0),
        ],
        [("lr", "0.1")],
        [("mlops.heartbeat", "2"), ("mlflow.runName", "renamed")],
    ),
    ([("acc", 0.25, 999, 7), ("loss", 0.1, 5000, 1)], [], []),  # a later step, an older step
]


def _values(client: Any, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    history = {
        key: sorted(
            (m.step, m.timestamp, str(m.value)) for m in client.get_metric_history(run_id, key)
        )
        for key in run.data.metrics
    }
    latest = {key: str(value) for key, value in run.data.metrics.items()}
    tags = {k: v for k, v in run.data.tags.items() if k.startswith("mlops.")}
    return {
        "history": history,
        "latest": latest,
        "params": run.data.params,
        "tags": tags,
        "name": run.info.run_name,
    }


def test_batches_written_directly_read_back_as_mlflows_log_batch(
    store: Settings, client: Any
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    experiment_id = client.create_experiment("batches")
    ours = client.create_run(experiment_id, run_name="a").info.run_id
    theirs = client.create_run(experiment_id, run_name="a").info.run_id
    writer = _writer(store)
    for metrics, params, tags in BATCHES:
        assert writer.log_batch(ours, metrics, params, tags) is True
        client.log_batch(
            theirs,
            metrics=[Metric(k, v, ts, step) for k, v, ts, step in metrics],
            params=[Param(k, v) for k, v in params],
            tags=[RunTag(k, v) for k, v in tags],
            synchronous=True,
        )
    seen = _values(client, ours)
    assert seen == _values(client, theirs)
    assert seen["latest"]["loss"] == "0.5" and seen["latest"]["acc"] == "0.25"
    assert seen["latest"]["tie"] == "2.0" and seen["name"] == "renamed"
    assert len(seen["history"]["loss"]) == 4  # the repeated value once


def test_a_batch_mlflow_would_refuse_or_change_is_left_to_it(store: Settings, client: Any) -> None:
    experiment_id = client.create_experiment("refusals")
    run_id = client.create_run(experiment_id).info.run_id
    writer = _writer(store)
    assert writer.log_batch(run_id, [("m", 1.0, 1, 0)], [("lr", "0.1")], [])
    declined = [
        ([("m", 2.0, 2, 1)], [("lr", "0.2")], []),  # a param changing value
        ([("m", 2.0, 2, 1)], [("a", "1"), ("a", "1")], []),  # a param twice in one batch
        ([("bad name!", 1.0, 2, 1)], [], []),
        ([("m", True, 2, 1)], [], []),  # MLflow says what a bool metric is
        ([("m", 1.0, -1, 1)], [], []),  # a negative timestamp
        ([], [("long", "x" * 6001)], []),
        ([], [], [("t", "x" * 8001)]),
    ]
    for metrics, params, tags in declined:
        assert writer.log_batch(run_id, metrics, params, tags) is False
    client.set_terminated(run_id)
    client.delete_run(run_id)
    assert writer.log_batch(run_id, [("m", 3.0, 3, 2)], [], []) is False
    assert writer.log_batch("0" * 32, [("m", 3.0, 3, 2)], [], []) is False
    history = client.get_metric_history(run_id, "m")
    assert [(m.step, m.value) for m in history] == [(0, 1.0)]  # nothing half-written
    assert client.get_run(run_id).data.params == {"lr": "0.1"}
