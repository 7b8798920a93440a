"""Values a real store refuses or cannot take now: the log buffer, then journal replay."""

from __future__ import annotations

from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import StoreError
from jupyter_mlops.tracking import api
from jupyter_mlops.tracking.writing import batches as writes

pytestmark = pytest.mark.integration


def test_a_value_the_store_rejects_is_named_and_the_rest_of_the_batch_is_written(
    store: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mlops.experiment("rejects")
    run = mlops.start_run(name="shared")
    client.log_param(run.run_id, "owner", "alice")  # another process logged it first
    for i in range(300):
        mlops.log(loss=1.0 / (i + 1), step=i)
    mlops.log_params({"owner": "bob", "depth": 8})
    mlops.set_tags({"team": "growth"})
    with caplog.at_level("WARNING", logger="jupyter_mlops"):
        mlops.flush()
    got = client.get_run(run.run_id).data
    assert len(client.get_metric_history(run.run_id, "loss")) == 300
    assert got.params == {"owner": "alice", "depth": "8"}
    assert got.tags["team"] == "growth"
    warned = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(warned) == 1 and "param 'owner'" in warned[0]
    mlops.end_run()


def _metrics(n: int, key: str = "loss") -> list[tuple[str, float, int, int]]:
    return [(key, float(i), 1_000 + i, i) for i in range(n)]


def test_a_sync_interrupted_mid_record_sends_each_chunk_once(
    store: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("journal")).info.run_id
    journal = api.tracker().journal
    journal.write(store.tracking_uri, [(run_id, _metrics(250), [], [])])
    sent: list[int] = []
    real = writes.send_batch
    calls = {"n": 0}

    def flaky(c: Any, rid: str, metrics: list, params: list, tags: list) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the store goes away after the first chunk
            raise StoreError("cannot write to run: connection refused")
        real(c, rid, metrics, params, tags)
        sent.extend(m[3] for m in metrics)

    monkeypatch.setattr(writes, "send_batch", flaky)
    first = mlops.sync()
    assert (first.files, first.remaining) == (0, 1)
    second = mlops.sync()
    assert (second.files, second.remaining) == (1, 0)
    assert sorted(sent) == list(range(250))  # no chunk sent twice
    assert len(client.get_metric_history(run_id, "loss")) == 250
    assert "waiting, the tracking store is unreachable" in first.summary()


def test_sync_sets_refused_records_aside_and_says_why(store: Any, client: Any) -> None:
    exp = client.create_experiment("journal")
    good = client.create_run(exp).info.run_id
    gone = client.create_run(exp).info.run_id
    client.log_param(good, "lr", "0.1")
    client.delete_run(gone)
    journal = api.tracker().journal
    journal.write(
        store.tracking_uri,
        [
            (gone, _metrics(3), [], []),
            (good, [], [("lr", "0.5")], []),  # another value for a logged param
            (good, _metrics(5, "acc"), [("depth", "8")], []),
        ],
        end=(good, "FINISHED", 2_000),
    )
    result = mlops.sync()
    assert (result.files, result.remaining, result.rejected) == (1, 0, 2)
    text = result.summary()
    assert f"run {gone}: the run was deleted" in text
    assert f"values of run {good}: the store rejected them" in text and "lr" in text
    assert journal.files() == []
    aside = list((journal.folder / "rejected").glob("*.jsonl"))
    assert len(aside) == 1 and len(aside[0].read_text().splitlines()) == 2
    run = client.get_run(good)
    assert run.data.params == {"lr": "0.1", "depth": "8"}
    assert len(client.get_metric_history(good, "acc")) == 5
    assert run.info.status == "FINISHED"


def test_sync_with_the_store_down_keeps_the_file_and_says_so(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    journal = api.tracker().journal
    journal.write("http://127.0.0.1:9", [("r" * 32, _metrics(3), [], [])])
    result = mlops.sync()
    assert (result.files, result.remaining, result.rejected) == (0, 1, 0)
    assert "waiting, the tracking store is unreachable" in result.summary()
    assert len(journal.files()) == 1
