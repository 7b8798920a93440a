"""RunsIndex against a real SQLite MLflow store, with MLflow's own search as the oracle."""

from __future__ import annotations

import math

import pytest
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.tracking.reading.index import RunsIndex, SearchSource, shared_index

#: at the boundary with MLflow or pandas: run again in each environment of make test-compat
pytestmark = pytest.mark.compat


def _make_runs(client, exp_id: str, n: int = 24) -> list[str]:
    ids = []
    for i in range(n):
        run = client.create_run(
            exp_id, start_time=1_700_000_000_000 + i * 1000, run_name=f"run-{i:02d}"
        )
        rid = run.info.run_id
        metrics = [Metric("loss", 1.0 / (i + 1), 0, 0)]
        if i % 3:  # some runs lack acc: missing values must sort last
            metrics.append(Metric("acc", (i * 7 % 24) / 24, 0, 0))
        if i == 5:
            metrics.append(Metric("acc", math.nan, 0, 1))
        params = [Param("model", ["rf", "gbm", "lr"][i % 3]), Param("depth", str(i % 4))]
        tags = [RunTag("team", "growth" if i % 2 else "core")]
        client.log_batch(rid, metrics=metrics, params=params, tags=tags)
        if i % 4 != 3:
            client.set_terminated(rid, "FINISHED" if i % 5 else "FAILED")
        ids.append(rid)
    return ids


@pytest.fixture
def runs(client):
    exp = client.create_experiment("idx")
    ids = _make_runs(client, exp)
    return client, exp, ids


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory):
    """One store for the read-only comparisons (building runs is the slow part)."""
    from mlflow import MlflowClient

    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    root = tmp_path_factory.mktemp("index-oracle")
    settings = load_settings(home=str(root))
    open_client(settings)
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    exp = client.create_experiment("idx")
    return client, exp, _make_runs(client, exp)


def _mlflow_ids(client, exp, filter_string="", order_by=None):
    found = client.search_runs([exp], filter_string, order_by=order_by, max_results=1000)
    return [r.info.run_id for r in found]


CASES = [
    ("", None),
    ("", ["metrics.acc DESC"]),
    ("", ["metrics.acc ASC"]),
    ("", ["metrics.loss ASC"]),
    ("", ["params.model ASC", "metrics.loss DESC"]),
    ("", ["attributes.run_name DESC"]),
    ("", ["attributes.end_time ASC"]),
    ("metrics.acc > 0.3", ["metrics.acc DESC"]),
    ("params.model = 'rf' and metrics.loss < 0.2", None),
    ("params.model != 'rf'", ["tags.team ASC"]),
    ("tags.team = 'growth'", ["start_time ASC"]),
    ("attributes.status = 'RUNNING'", None),
    ("attributes.status != 'FINISHED'", ["metrics.acc ASC", "params.model DESC"]),
    ("run_name LIKE 'run-1%'", None),
    ("attributes.run_name ILIKE 'RUN-0_'", None),
    ("params.depth IS NULL", None),
    ("tags.team IS NOT NULL and params.depth = '2'", None),
    ("attributes.start_time > 1700000010000", ["metrics.loss DESC"]),
]


@pytest.mark.parametrize(("filter_string", "order_by"), CASES)
def test_pages_match_mlflow_search(shared_runs, filter_string, order_by):
    from mlflow.exceptions import MlflowException

    client, exp, _ = shared_runs
    index = RunsIndex(client.tracking_uri, [exp])
    try:
        expected = _mlflow_ids(client, exp, filter_string, order_by)
    except MlflowException:  # syntax this MLflow release lacks (3.10 has no IS NULL)
        with pytest.raises(InvalidInput, match="cannot filter runs"):
            index.page(filter_string, order_by, page_size=1000)
        return
    rows, total = index.page(filter_string, order_by, page_size=1000)
    assert [r.run_id for r in rows] == expected
    assert total == len(expected)


def test_paging_with_offsets_and_tokens(shared_runs):
    client, exp, _ = shared_runs
    index = RunsIndex(client.tracking_uri, [exp])
    everything = [r.run_id for r in index.page(order_by=["metrics.loss ASC"], page_size=1000).rows]
    first = index.page(order_by=["metrics.loss ASC"], offset=0, page_size=10)
    token = first.next_page_token(0)
    second = index.page(order_by=["metrics.loss ASC"], page_size=10, page_token=token)
    third = index.page(order_by=["metrics.loss ASC"], offset=20, page_size=10)
    assert [r.run_id for r in first.rows + second.rows + third.rows] == everything
    assert third.next_page_token(20) is None
    assert first.total == second.total == 24


def test_row_values_are_what_mlflow_holds(shared_runs):
    client, exp, ids = shared_runs
    index = RunsIndex(client.tracking_uri, [exp])
    for rid in ids[:6]:
        row = index.get(rid)
        run = client.get_run(rid)
        assert row is not None
        assert row.name == run.info.run_name and row.status == run.info.status
        assert row.params == run.data.params
        assert row.tags["team"] == run.data.tags["team"]
        for key, value in run.data.metrics.items():
            assert row.metrics[key] == value or (math.isnan(value) and math.isnan(row.metrics[key]))
    assert index.get(ids[5]).as_dict()["metrics"]["acc"] is None  # NaN is not JSON


@pytest.mark.parametrize(
    "bad",
    [
        "metrics.acc >",
        "foo.bar = 1",
        "params.model = rf",
        "metrics.acc > 0.1 or metrics.loss < 1",
        "metrics.acc LIKE '%1'",
    ],
)
def test_bad_filter_is_one_line_usage_error_with_mlflows_reason(shared_runs, bad):
    from mlflow.exceptions import MlflowException

    client, exp, _ = shared_runs
    with pytest.raises(MlflowException) as theirs:
        client.search_runs([exp], bad)
    index = RunsIndex(client.tracking_uri, [exp])
    with pytest.raises(InvalidInput) as ours:
        index.page(bad)
    message = str(ours.value)
    assert theirs.value.message.strip().splitlines()[0] in message
    assert "\n" not in message
    assert "metrics.acc > 0.8" in message  # the right form is shown


def test_bad_order_and_page_arguments(shared_runs):
    client, exp, _ = shared_runs
    index = RunsIndex(client.tracking_uri, [exp])
    with pytest.raises(InvalidInput, match="order runs by"):
        index.page(order_by=["metrics.acc SIDEWAYS"])
    with pytest.raises(InvalidInput, match="page size"):
        index.page(page_size=0)
    with pytest.raises(InvalidInput, match="page token"):
        index.page(page_token="nope")
    with pytest.raises(InvalidInput, match="not indexed"):
        index.page("tags.`mlops.cell` LIKE '%x%'")


def test_refresh_reads_only_what_changed(runs):
    client, exp, ids = runs
    index = RunsIndex(client.tracking_uri, [exp], max_age=3600)
    index.refresh()
    version = index.version
    assert index.refresh() is False and index.version == version

    running = ids[3]  # left RUNNING by _make_runs
    client.log_batch(running, metrics=[Metric("loss", 0.001, 0, 5)])
    assert index.refresh() is True
    assert index.get(running).metrics["loss"] == 0.001
    assert index.page(order_by=["metrics.loss ASC"], page_size=1).rows[0].run_id == running

    client.set_terminated(running, "KILLED")
    index.refresh()
    assert index.get(running).status == "KILLED"

    new = client.create_run(exp, run_name="<img src=x onerror=alert(1)>").info.run_id
    index.refresh()
    assert index.get(new).name == "<img src=x onerror=alert(1)>"
    assert len(index) == len(ids) + 1

    client.delete_run(ids[0])
    index.refresh()
    assert index.get(ids[0]) is None and len(index) == len(ids)


def test_values_added_to_ended_runs_are_caught_by_counts(runs):
    client, exp, ids = runs
    index = RunsIndex(client.tracking_uri, [exp], max_age=3600)
    index.refresh()
    ended = ids[0]
    client.log_batch(ended, metrics=[Metric("late", 3.0, 0, 0)], params=[Param("extra", "y")])
    assert index.refresh() is True
    assert index.get(ended).metrics["late"] == 3.0
    assert index.get(ended).params["extra"] == "y"
    assert [r.run_id for r in index.page("params.extra = 'y'").rows] == [ended]


def test_dataset_inputs_filter(runs):
    client, exp, ids = runs
    dataset = Dataset("churn", "abc123", "local", "/data/churn.parquet")
    client.log_inputs(ids[2], [DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])])
    index = RunsIndex(client.tracking_uri, [exp])
    for f in ("dataset.name = 'churn'", "dataset.context = 'train'", "dataset.digest = 'abc123'"):
        assert [r.run_id for r in index.page(f).rows] == _mlflow_ids(client, exp, f) == [ids[2]]
    assert index.get(ids[2]).datasets == (("churn", "abc123", "train"),)


def test_search_source_gives_the_same_pages_as_sql(runs):
    client, exp, ids = runs
    sql = RunsIndex(client.tracking_uri, [exp])
    api = RunsIndex(client.tracking_uri, [exp], source=SearchSource(client, [exp]), max_age=3600)
    for filter_string, order_by in CASES[:8]:
        assert [r.run_id for r in api.page(filter_string, order_by).rows] == [
            r.run_id for r in sql.page(filter_string, order_by).rows
        ]
    assert api.refresh() is False
    client.log_batch(ids[3], metrics=[Metric("loss", 0.0001, 0, 9)])  # ids[3] is RUNNING
    new = client.create_run(exp, run_name="later").info.run_id
    assert api.refresh() is True
    assert api.get(ids[3]).metrics["loss"] == 0.0001 and api.get(new) is not None


def test_keys_and_experiment_scoping(runs):
    client, exp, _ = runs
    other = client.create_experiment("other")
    client.create_run(other, run_name="elsewhere")
    index = shared_index(client.tracking_uri, [exp])
    assert shared_index(client.tracking_uri, [exp]) is index
    assert index.keys()["metrics"] == ["acc", "loss"]
    assert index.keys()["params"] == ["depth", "model"]
    assert "elsewhere" not in {r.name for r in index.page(page_size=1000).rows}
    both = RunsIndex(client.tracking_uri, [exp, other])
    assert both.page().total == 25
    with pytest.raises(InvalidInput, match="not a number"):
        RunsIndex(client.tracking_uri, ["abc"])


def test_a_store_of_another_shape_reads_through_search_runs(runs, caplog):
    import logging

    from jupyter_mlops.tracking.mlflow_bridge.store import sqlite_path
    from jupyter_mlops.tracking.mlflow_tables.index_source import SqlSource, store_mismatch
    from tests.store_state import extra_column

    client, exp, _ = runs
    assert isinstance(RunsIndex(client.tracking_uri, [exp])._source, SqlSource)
    db = sqlite_path(client.tracking_uri)
    with extra_column(db, "spans"):  # MLflow changed a table the index never reads
        assert store_mismatch(client.tracking_uri) is None
    with extra_column(db, "params"), caplog.at_level(logging.WARNING, logger="jupyter_mlops"):
        assert "table 'params'" in (store_mismatch(client.tracking_uri) or "")
        first = RunsIndex(client.tracking_uri, [exp])
        RunsIndex(client.tracking_uri, [exp])
    assert isinstance(first._source, SearchSource)
    said = [r.getMessage() for r in caplog.records if "through MLflow" in r.getMessage()]
    assert len(said) == 1 and "new column mlops_probe" in said[0], said
    f = "metrics.acc > 0.5"
    assert [r.run_id for r in first.page(f).rows] == _mlflow_ids(client, exp, f)
