"""Snapshots with a real MLflow store, the %mlops magics, the CLI and a killed writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from pandas.testing import assert_frame_equal

import jupyter_mlops as mlops
from jupyter_mlops.cli import main as cli_main
from jupyter_mlops.data.store import SnapshotStore

pytestmark = pytest.mark.integration


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(size=n),
            "city": pd.Categorical(rng.choice(["a", "b"], n)),
        }
    )


def _inputs(client, run_id: str) -> list:  # type: ignore[no-untyped-def]
    return list(client.get_run(run_id).inputs.dataset_inputs)


def test_snapshot_and_load_are_recorded_as_run_inputs(store, client) -> None:
    v1 = mlops.snapshot(_frame(), name="train")  # no run yet: nothing to record
    with mlops.start_run(name="train") as run:
        v2 = mlops.snapshot(_frame(seed=1), name="train")
        loaded = mlops.load("train@v1")
    assert_frame_equal(loaded, _frame(), check_exact=True)
    inputs = _inputs(client, run.run_id)
    by_digest = {i.dataset.digest: i for i in inputs}
    assert set(by_digest) == {v1.digest, v2.digest}
    ds = by_digest[v1.digest].dataset
    assert ds.name == "train" and ds.source_type == "mlops-snapshot"
    assert json.loads(ds.source)["uri"] == "mlops://train@v1" == v1.uri
    assert [c["name"] for c in json.loads(ds.schema)["mlflow_colspec"]] == ["id", "x", "city"]
    assert json.loads(ds.profile)["num_rows"] == 2000
    contexts = {
        i.dataset.digest: t.value for i in inputs for t in i.tags if t.key == "mlflow.data.context"
    }
    assert contexts == {v1.digest: "training", v2.digest: "snapshot"}


def test_no_run_no_mlflow_writes(store, client) -> None:
    mlops.snapshot(_frame(), name="solo")
    assert mlops.active_run() is None
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_drift_logs_metrics_and_reports_to_the_active_run(store, client) -> None:
    ref = _frame(3000)
    mlops.snapshot(ref, name="ref")
    live = _frame(3000, seed=5).assign(x=lambda d: d["x"] + 0.5)
    with mlops.start_run(name="monitor") as run:
        report = mlops.drift("ref", live)
    assert report.drifted_columns == ["x"]
    data = client.get_run(run.run_id).data
    assert data.metrics["drift.x.psi"] == pytest.approx(
        report.table.set_index("column").loc["x", "psi"]
    )
    assert data.metrics["drift.share_drifted"] == pytest.approx(1 / 3)
    assert data.metrics["drift.x.drifted"] == 1.0
    files = {f.path for f in client.list_artifacts(run.run_id, "drift")}
    assert files == {"drift/report.html", "drift/report.json"}


def test_magics_snapshot_list_diff_drift(ip, client, capsys) -> None:
    ip.user_ns["train_df"] = _frame()
    first = ip.run_line_magic("mlops", "snapshot train_df --name train")
    assert str(first).startswith("train@v1  digest ")
    assert capsys.readouterr().out == ""  # the result is displayed once, by IPython
    extra = _frame(20, seed=3).assign(id=lambda d: d["id"] + 2000)
    ip.user_ns["train_df"] = pd.concat([_frame(), extra], ignore_index=True)
    ref = ip.run_line_magic("mlops", "snapshot train_df --name train")
    assert ref.version == 2
    again = ip.run_line_magic("mlops", "snapshot train_df --name train")
    assert again.version == 2 and "unchanged" in str(again)
    table = ip.run_line_magic("mlops", "snapshots train")
    assert list(table["ref"]) == ["train@v1", "train@v2"]
    report = ip.run_line_magic("mlops", "diff train@v1 train@v2 --key id")
    assert (report.rows_added, report.rows_removed, report.rows_changed) == (20, 0, 0)
    ip.user_ns["live"] = _frame(seed=9).assign(x=lambda d: d["x"] * 3)
    drift = ip.run_line_magic("mlops", "drift train@v1 live")
    assert "x" in drift.drifted_columns


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("snapshot nope --name t", "no variable 'nope'"),
        ("snapshot df --name ../x", "letters, digits"),
        ("snapshot bad --name t", "cannot snapshot a dict"),
        ("snapshot df", "--name"),
        ("diff missing@v1 df", "no snapshot named 'missing'"),
        ("drift df df --threshold 7", "between 0 and 1"),
    ],
)
def test_magic_mistakes_are_one_line_usage_errors(ip, line: str, message: str) -> None:
    ip.user_ns["df"] = _frame(10)
    ip.user_ns["bad"] = {"a": 1}
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("mlops", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


def test_cli_ls_show_diff_drift_verify_gc(store, capsys) -> None:
    mlops.snapshot(_frame(), name="c")
    mlops.snapshot(_frame(seed=2), name="c")
    assert cli_main(["data", "ls"]) == 0
    assert "c@v2" in capsys.readouterr().out
    assert cli_main(["data", "ls", "c", "--json"]) == 0
    assert [r["ref"] for r in json.loads(capsys.readouterr().out)] == ["c@v1", "c@v2"]
    assert cli_main(["data", "show", "c@v1"]) == 0
    assert json.loads(capsys.readouterr().out)["uri"] == "mlops://c@v1"
    assert cli_main(["data", "diff", "c@v1", "c@v2", "--key", "id", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["changed"] == 2000
    assert cli_main(["data", "drift", "c@v1", "c@v2", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["columns"]) == 3
    assert cli_main(["data", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK:")
    assert cli_main(["data", "gc", "--grace", "0"]) == 0
    assert "removed 0 unreferenced" in capsys.readouterr().out
    assert cli_main(["data", "show", "c@v9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no version v9" in err


def test_unusable_store_is_exit_2_in_cli_and_usage_error_in_magic(
    ip, tmp_path, monkeypatch, capsys
) -> None:
    assert cli_main(["data", "--store", "nosuchproto://bucket/x", "ls"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MLOPS_DATA_URI" in err
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the store folder should be")
    monkeypatch.setenv("MLOPS_DATA_URI", str(blocker / "data"))
    from jupyter_mlops.tracking import api

    api.reset(None)
    ip.user_ns["df"] = _frame(10)
    with pytest.raises(UsageError, match="cannot write to the snapshot store") as info:
        ip.run_line_magic("mlops", "snapshot df --name t")
    assert type(info.value) is UsageError and "\n" not in str(info.value)


_WRITER = """
import sys, numpy as np, pandas as pd
from jupyter_mlops.data import store as st
from jupyter_mlops.data.writer import take_snapshot
slow = st.SnapshotStore.put_blob
def put_blob(self, key, data):
    slow(self, key, data)
    print("blob", flush=True)
st.SnapshotStore.put_blob = put_blob
rng = np.random.default_rng(0)
df = pd.DataFrame({f"c{i}": rng.normal(size=400_000) for i in range(8)})
take_snapshot(st.SnapshotStore(sys.argv[1]), df, "big")
print("done", flush=True)
"""


def test_kill_9_mid_snapshot_leaves_no_visible_version(tmp_path: Path) -> None:
    uri = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, uri], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = 0
    deadline = time.time() + 120
    while seen < 5 and time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("blob"):
            seen += 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen == 5
    store = SnapshotStore(uri)
    assert store.versions("big") == []
    assert len(store.existing_keys()) >= 5
    assert cli_main(["data", "--store", uri, "verify"]) == 0
    assert cli_main(["data", "--store", uri, "gc", "--grace", "0"]) == 0
    assert store.blob_files() == []
