"""The documented team setup, end to end: two users, one server on PostgreSQL, one snapshot store.

Runs in the team pass (``MLOPS_TEST_STORE=server``, ``make pytest-team``): the
``store`` fixture then points at ``mlflow server --backend-store-uri
postgresql://...`` on 127.0.0.1 and a shared snapshot folder. Each "user" is a
separate process with its own project folder and login name, as on two laptops.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import store_kind

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(store_kind() != "server", reason="team pass only (MLOPS_TEST_STORE=server)"),
]

ALICE = """
import pandas as pd
import jupyter_mlops as mlops
mlops.experiment("team")
with mlops.start_run(name="alice-baseline"):
    mlops.log(lr=0.1, model="rf")
    for step in range(50):
        mlops.log(loss=1.0 / (step + 1), step=step)
    ref = mlops.snapshot(pd.DataFrame({"id": range(100), "y": [i % 3 for i in range(100)]}),
                         name="train")
print(ref.digest)
"""

BOB = """
import sys
import jupyter_mlops as mlops
data = mlops.load("train")
assert len(data) == 100, data
mlops.experiment("team")
with mlops.start_run(name="bob-tuned"):
    mlops.log(lr=0.05, model="rf", loss=0.01)
"""


def _as_user(user: str, home: Path, code: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "USER": user, "LOGNAME": user, "MLOPS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("jupyter-mlops"))
    env = {**os.environ, "MLOPS_HOME": str(home)}
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=300)


def test_two_users_share_runs_and_snapshots(store: Any, client: Any, tmp_path: Path) -> None:
    assert store.tracking_uri.startswith("http://127.0.0.1:")
    alice = _as_user("alice", tmp_path / "alice", ALICE)
    assert alice.returncode == 0, alice.stderr
    bob = _as_user("bob", tmp_path / "bob", BOB)
    assert bob.returncode == 0, bob.stderr

    # Nothing but our own output on stdout: no "View run ... at" lines from MLflow.
    assert alice.stdout.split() == [alice.stdout.strip()]
    assert bob.stdout == ""

    listed = _cli(tmp_path / "carol", "runs", "--experiment", "team", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["name"] for r in rows) == ["alice-baseline", "bob-tuned"]
    assert {r["status"] for r in rows} == {"FINISHED"}
    exp = client.get_experiment_by_name("team")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    baseline = runs["alice-baseline"]
    assert baseline.data.params["model"] == "rf" and baseline.data.metrics["lr"] == 0.1
    assert len(client.get_metric_history(baseline.info.run_id, "loss")) == 50
    # the snapshot Alice took is recorded on her run as a dataset input, same digest
    inputs = [(i.dataset.name, i.dataset.digest) for i in baseline.inputs.dataset_inputs]
    assert inputs == [("train", alice.stdout.strip())]


def test_runs_live_in_postgresql(store: Any, client: Any, team_server: Any) -> None:
    import psycopg2

    import jupyter_mlops as mlops

    mlops.experiment("in-postgres")
    with mlops.start_run(name="counted") as run:
        mlops.log(acc=0.5)
    uri = team_server.postgres.uri("mlflow").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(uri) as con, con.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_uuid = %s", (run.run_id,))
        assert cur.fetchall() == [("FINISHED",)]
        cur.execute("SELECT value FROM metrics WHERE run_uuid = %s AND key = 'acc'", (run.run_id,))
        assert cur.fetchall() == [(0.5,)]
    assert not pd.isna(client.get_run(run.run_id).info.end_time)
