"""The oracle for our direct SQL: the same runs written by MLflow and by us leave the same rows.

Two fresh embedded stores get the same runs (params, tags, metrics with steps, NaN and
infinities, a repeated value, a rename, a nested run, every end status, dataset inputs): one
entirely through ``MlflowClient``, one through the direct path (``mlflow_tables.run_writes``).
Every table the direct statements touch (``contract.TABLES``) is then compared row by row,
ids and clock times normalised. The direct reader's answers are checked against MLflow's on
the same rows. Run in every environment of ``make test-compat``: this is what the tested range
of MLflow releases (``contract.TESTED_MLFLOW``) means.
"""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.tracking.mlflow_bridge.store import open_client, sqlite_path
from jupyter_mlops.tracking.mlflow_tables import contract
from jupyter_mlops.tracking.mlflow_tables.run_reads import finished_runs_tagged, read_runs
from jupyter_mlops.tracking.mlflow_tables.run_writes import SqliteRunWriter, experiment_for
from jupyter_mlops.tracking.writing.owned_run import MlflowRunWriter

pytestmark = [pytest.mark.integration, pytest.mark.sqlite_only, pytest.mark.compat]

INF = math.inf
#: (key, value, timestamp ms, step) batches, as the log buffer sends them
BATCHES: list[
    tuple[list[tuple[str, float, int, int]], list[tuple[str, str]], list[tuple[str, str]]]
]
BATCHES = [
    (
        [("loss", 0.9, 1_000, 0), ("loss", 0.7, 1_001, 1), ("acc", 0.5, 1_000, 0)],
        [("depth", "3")],
        [("mlops.stage", "fit")],
    ),
    (
        [("loss", 0.7, 1_001, 1), ("loss", float("nan"), 1_002, 2), ("big", INF, 1_002, 0)],
        [],
        [("mlflow.runName", "renamed"), ("mlops.stage", "eval")],
    ),
    (
        [("small", -INF, 1_003, 0), ("acc", 0.25, 1_004, -1), ("tie", 1.0, 5, 3)],
        [("n", "10")],
        [],
    ),
    ([("tie", 2.0, 5, 3), ("count", 7, 1_005, 4), ("loss", 0.5, 999, 3)], [], []),
]
TAGS = {"mlflow.user": "alice", "mlflow.source.name": "train.ipynb", "mlops.kind": "notebook"}


class _Mlflow:
    """Every write through ``MlflowClient``, as MLflow's own API makes them."""

    def __init__(self, settings: Settings) -> None:
        self.client = open_client(settings)
        self.writer = MlflowRunWriter(self.client)
        self.root = Path(settings.artifact_root or "").as_uri()

    def experiment(self, name: str) -> str:
        return str(self.client.create_experiment(name, artifact_location=self.root))

    def create_run(self, exp: str, name: str, tags: dict[str, str], params: dict[str, str]) -> str:
        return self.writer.create_run(exp, name, tags, params).run_id

    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, step) for k, v, ts, step in metrics],
            params=[Param(k, v) for k, v in params],
            tags=[RunTag(k, v) for k, v in tags],
            synchronous=True,
        )

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self.writer.set_tags(run_id, tags)

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status)


class _Direct(_Mlflow):
    """The same writes through the direct path (MLflow only for what it has no statement for)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.settings = settings
        direct = SqliteRunWriter.open(settings)
        assert direct is not None, "the direct path is off on the store it was tested with"
        self.direct = direct

    def experiment(self, name: str) -> str:
        return experiment_for(self.settings, name)

    def create_run(self, exp: str, name: str, tags: dict[str, str], params: dict[str, str]) -> str:
        return self.direct.create_run(exp, name, tags, params).run_id

    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        assert self.direct.log_batch(run_id, metrics, params, tags), "left to MLflow"

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self.direct.set_tags(run_id, tags)

    def end(self, run_id: str, status: str) -> None:
        self.direct.set_terminated(run_id, status)


def _dataset(client: Any, run_id: str, name: str, context: str) -> None:
    """A dataset input through MLflow (both sides: the direct path writes none)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = Dataset(name, f"digest-{name}", "local", f'{{"uri": "{name}.parquet"}}', "{}", "{}")
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])])


def _write(side: _Mlflow) -> list[str]:
    """The scenario; returns run ids in creation order."""
    exp = side.experiment("differential")
    parent = side.create_run(exp, "pipeline", TAGS, {"lr": "0.1", "model": "rf"})
    child = side.create_run(
        exp, "step", {**TAGS, "mlflow.parentRunId": parent}, {"lr": "0.1", "long": "x" * 500}
    )
    for metrics, params, tags in BATCHES:
        side.log_batch(child, metrics, params, tags)
    side.set_tags(parent, {"mlops.heartbeat": "2", "mlops.pipeline": "p"})
    side.set_tags(child, {"mlops.heartbeat": "3"})
    failed = side.create_run(exp, "failing", TAGS, {})
    killed = side.create_run(side.experiment("second"), "killed", TAGS, {"a": "1"})
    _dataset(side.client, child, "train", "training")
    _dataset(side.client, child, "test", "eval")
    side.end(child, "FINISHED")
    side.end(failed, "FAILED")
    side.end(killed, "KILLED")
    side.end(parent, "FINISHED")
    return [parent, child, failed, killed]


#: columns filled from the clock, or random ids: compared as "set or not"
_CLOCK = {"start_time", "end_time", "creation_time", "last_update_time", "deleted_time"}
_RANDOM = {"dataset_uuid", "input_uuid", "source_id"}


def _rows(db: Path, root: Path, run_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    names = {rid: f"<run{i}>" for i, rid in enumerate(run_ids)}
    pattern = re.compile("|".join(map(re.escape, [str(root), *names])))

    def norm(column: str, value: Any) -> Any:
        if column in _CLOCK:
            return value is not None
        if column in _RANDOM and column != "source_id":
            return "<uuid>"
        if isinstance(value, str):
            return pattern.sub(lambda m: names.get(m.group(0), "<root>"), value)
        return value

    out = {}
    with sqlite3.connect(db) as conn:
        for table in contract.TABLES:
            cursor = conn.execute(f"SELECT * FROM {table}")
            columns = [c[0] for c in cursor.description]
            rows = [
                tuple((c, norm(c, v)) for c, v in zip(columns, row, strict=True))
                for row in cursor.fetchall()
            ]
            out[table] = sorted(rows, key=repr)
    return out


def _uuid_free(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Inputs point at datasets by random id: compare them by what they point at instead."""
    return {
        t: sorted(
            (tuple((c, "<uuid>" if c == "source_id" else v) for c, v in r) for r in rows[t]),
            key=repr,
        )
        for t in rows
    }


@pytest.fixture
def two_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Settings]:
    for var in ("MLFLOW_TRACKING_URI", "MLOPS_TRACKING_URI", "MLFLOW_ENABLE_WORKSPACES"):
        monkeypatch.delenv(var, raising=False)
    stores = []
    for side in ("mlflow", "direct"):
        root = tmp_path / side
        (root / ".mlops").mkdir(parents=True)
        settings = load_settings(root)
        open_client(settings)  # the schema, created by MLflow as the product creates it
        stores.append(settings)
    return stores[0], stores[1]


def test_direct_writes_leave_the_rows_mlflow_leaves(two_stores: tuple[Settings, Settings]) -> None:
    theirs, ours = two_stores
    their_ids, our_ids = _write(_Mlflow(theirs)), _write(_Direct(ours))
    their_db, our_db = sqlite_path(theirs.tracking_uri), sqlite_path(ours.tracking_uri)
    assert their_db is not None and our_db is not None
    expected = _uuid_free(_rows(their_db, theirs.root, their_ids))
    found = _uuid_free(_rows(our_db, ours.root, our_ids))
    for table in contract.TABLES:
        assert found[table] == expected[table], f"table {table} differs"
    # the scenario reached what it is about
    assert any(dict(r)["is_nan"] == 1 for r in found["metrics"])
    assert {dict(r)["status"] for r in found["runs"]} == {"FINISHED", "FAILED", "KILLED"}


def test_direct_reads_answer_what_mlflow_answers(two_stores: tuple[Settings, Settings]) -> None:
    theirs, _ = two_stores
    side = _Mlflow(theirs)
    parent, child, *_ = _write(side)
    exp = side.client.get_experiment_by_name("differential").experiment_id
    records = read_runs(theirs, ["differential"], max_results=10)
    assert records is not None
    mlflow_runs = side.client.search_runs([exp], max_results=10)
    assert [r.run_id for r in records] == [r.info.run_id for r in mlflow_runs]
    for record, run in zip(records, mlflow_runs, strict=True):
        assert record.params == run.data.params and record.status == run.info.status
        assert {k: str(v) for k, v in record.metrics.items()} == {
            k: str(v) for k, v in run.data.metrics.items()
        }
    tagged = finished_runs_tagged(theirs, exp, "mlflow.source.name", "train.ipynb", 10)
    assert tagged is not None and [rid for rid, _ in tagged] == [
        r.info.run_id for r in mlflow_runs if r.info.status == "FINISHED"
    ]
    inputs = dict(tagged)[child]
    mlflow_inputs = side.client.get_run(child).inputs.dataset_inputs
    assert sorted((d.name, d.digest, d.tags) for d in inputs) == sorted(
        (i.dataset.name, i.dataset.digest, {t.key: t.value for t in i.tags}) for i in mlflow_inputs
    )
    assert dict(tagged)[parent] == []


def test_the_guard_names_why_the_fast_path_is_off(store: Settings, client: Any) -> None:
    db = sqlite_path(store.tracking_uri)
    assert db is not None
    with sqlite3.connect(db) as conn:
        columns = contract.sqlite_columns(conn)
        assert contract.mismatch(columns) is None
        low, high = contract.TESTED_MLFLOW
        below = f"{low[0]}.{low[1] - 1}.0" if low[1] else f"{low[0] - 1}.99.0"
        assert "outside the tested releases" in (contract.mismatch(columns, version=below) or "")
        beyond = f"{high[0]}.{high[1]}.0"
        assert "outside the tested releases" in (contract.mismatch(columns, version=beyond) or "")
        assert "outside" in (contract.mismatch(columns, version=f"{beyond}rc1") or "")
    with pytest.MonkeyPatch.context() as mp, sqlite3.connect(db) as conn:
        mp.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
        assert "workspaces" in (contract.mismatch(contract.sqlite_columns(conn)) or "")
