"""Tracking through outages of a real MLflow server: retry, journal, sync."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.config import load_settings
from jupyter_mlops.testing.mlflow_server import MlflowServer
from jupyter_mlops.tracking import api
from jupyter_mlops.tracking.writing import tracker as session

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MlflowServer]:
    srv = MlflowServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-artifacts")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def on_server(server: MlflowServer, store, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)  # this server has no workspaces
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    api.reset(load_settings())
    yield server
    api.reset(None)


def _values(client, run_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(m.step for m in client.get_metric_history(run_id, "loss"))


def test_server_restart_mid_run_loses_nothing_and_warns_once(on_server, caplog) -> None:
    from mlflow import MlflowClient

    mlops.experiment("restart")
    run = mlops.start_run(name="survivor")
    for i in range(500):
        mlops.log(loss=i, step=i)
    mlops.flush()
    on_server.stop()
    with caplog.at_level(logging.WARNING, logger="jupyter_mlops"):
        for i in range(500, 1500):
            mlops.log(loss=i, step=i)
        api.tracker().buffer._wake.set()
        import time

        time.sleep(2)  # the flusher meets the outage
        on_server.start()
        mlops.end_run()
    client = MlflowClient(on_server.url)
    assert _values(client, run.run_id) == list(range(1500))
    assert client.get_run(run.run_id).info.status == "FINISHED"
    outage = [r for r in caplog.records if "cannot write to the tracking store" in r.message]
    assert len(outage) == 1
    assert any("reachable again" in r.message for r in caplog.records)


def test_unreachable_at_run_end_journals_then_sync_replays_once(on_server, monkeypatch) -> None:
    from mlflow import MlflowClient

    monkeypatch.setattr(session, "END_FLUSH_TIMEOUT_S", 2.0)
    mlops.experiment("journal")
    run = mlops.start_run(name="offline-end")
    for i in range(300):
        mlops.log(loss=i, step=i)
    mlops.flush()
    on_server.stop()
    for i in range(300, 1000):
        mlops.log(loss=i, step=i)
    mlops.log(note="written-offline")
    mlops.end_run()  # must not raise: values and the end go to the journal
    journal = api.tracker().journal
    assert len(journal.files()) == 1
    assert mlops.status()["journaled_files"] == 1

    on_server.start()
    client = MlflowClient(on_server.url)
    assert client.get_run(run.run_id).info.status == "RUNNING"
    result = mlops.sync()
    assert (result.files, result.runs_ended, result.remaining) == (1, 1, 0)
    assert result.values >= 700
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params["note"] == "written-offline"
    assert _values(client, run.run_id) == list(range(1000))
    again = mlops.sync()
    assert (again.files, again.values) == (0, 0)
    assert len(client.get_metric_history(run.run_id, "loss")) == 1000  # nothing duplicated
