"""Headless runs through real papermill, real python3 kernels and a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, write_notebook

pytestmark = pytest.mark.integration

TRAIN = [
    ("lr = 0.1  # learning rate\ndepth = 3", ["parameters"]),
    ("import jupyter_mlops as mlops\nmlops.log(acc=lr * depth, model='rf')", []),
    ("%load_ext jupyter_mlops\n%mlops log loss=0.25", []),
]


def _notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    return write_notebook(path, [code(src, *tags) for src, tags in cells])


def _all_runs(client):  # type: ignore[no-untyped-def]
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids) if ids else []


def _artifacts(client, run_id: str, folder: str | None = None) -> set[str]:  # type: ignore[no-untyped-def]
    return {a.path for a in client.list_artifacts(run_id, folder)}


def test_run_is_one_mlflow_run_with_the_notebook_values_then_reproduces(
    store, client, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(store.root / "train.ipynb", TRAIN)
    assert main(["run", str(nb), "-p", "lr", "0.5", "-p", "depth", "4", "-q"]) == 0
    out = capsys.readouterr().out
    runs = _all_runs(client)
    assert len(runs) == 1  # the kernel attached to the runner's run, never made its own
    run = runs[0]
    assert run.info.run_id in out and run.info.status == "FINISHED"
    assert run.info.run_name == "train"  # named after its notebook, not a random name
    where = out.split("HTML rendering:")[1].split()[0]  # a path, or a server's artifact URI
    assert where.endswith("/train.html") and run.info.run_id in where
    html = Path(where) if Path(where).is_file() else None
    if html is None:  # a tracking server's artifact store: fetch it as a user would
        html = Path(client.download_artifacts(run.info.run_id, "output/train.html"))
    assert "<html" in html.read_text()[:500].lower()
    executed_at = Path(out.split("executed notebook:")[1].split()[0])
    assert executed_at.is_file() and executed_at.name == "train.ipynb"
    assert run.data.params["lr"] == "0.5" and run.data.params["depth"] == "4"
    assert run.data.params["model"] == "rf"
    assert run.data.metrics == {"acc": 2.0, "loss": 0.25}
    assert run.data.tags["mlops.headless"] == "papermill"
    assert client.get_experiment(run.info.experiment_id).name == "train"
    rid = run.info.run_id
    assert {"notebook", "output", "headless.json"} <= _artifacts(client, rid)
    assert _artifacts(client, rid, "notebook") == {"notebook/train.ipynb"}
    assert {"output/train.ipynb", "output/train.html"} <= _artifacts(client, rid, "output")
    manifest = json.loads(Path(client.download_artifacts(rid, "headless.json")).read_text())
    assert manifest["parameters"] == {"lr": 0.5, "depth": 4}
    assert manifest["kernel"]["name"] == "python3"
    assert manifest["papermill"]["version"] and manifest["status"] == "FINISHED"
    executed = json.loads(Path(client.download_artifacts(rid, "output/train.ipynb")).read_text())
    assert "injected-parameters" in executed["cells"][1]["metadata"]["tags"]

    # Change the file on disk: reproduce must run the notebook stored on the run.
    _notebook(nb, [(TRAIN[0][0], ["parameters"]), ("import jupyter_mlops as m\nm.log(acc=-1)", [])])
    assert main(["reproduce", rid, "-q"]) == 0
    table = capsys.readouterr().out
    assert "REPRODUCED" in table and "NOT REPRODUCED" not in table
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.strip()}
    assert rows["acc"][1:3] == ["2", "2"] and rows["acc"][-1] == "yes"
    new = [r for r in _all_runs(client) if r.info.run_id != rid]
    assert len(new) == 1 and new[0].data.tags["reproduces"] == rid
    assert new[0].data.params["lr"] == "0.5" and new[0].info.experiment_id == run.info.experiment_id


def test_failing_cell_marks_the_run_failed_and_keeps_the_error_notebook(
    store, client, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(
        store.root / "broken.ipynb",
        [
            ("import jupyter_mlops as mlops\nmlops.log(before=1.0)", []),
            ("raise ValueError('bad input column')", []),
            ("mlops.log(after=1.0)", []),
        ],
    )
    out_path = store.root / "out" / "broken-out.ipynb"
    assert main(["run", str(nb), "--output", str(out_path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "ValueError: bad input column" in err and "cell" in err and str(out_path) in err
    assert "Traceback" not in err
    (run,) = _all_runs(client)
    assert run.info.status == "FAILED"
    assert run.data.metrics == {"before": 1.0}  # what ran before the failure was kept
    logged = client.download_artifacts(run.info.run_id, "output/broken-out.ipynb")
    text = Path(logged).read_text()
    assert "papermill-error-cell-tag" in text and "bad input column" in text
    assert out_path.is_file()


def test_reproduce_fails_for_an_unseeded_notebook(
    store, client, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(
        store.root / "noisy.ipynb",
        [("import random, jupyter_mlops as mlops\nmlops.log(score=random.random())", [])],
    )
    assert main(["run", str(nb), "-q"]) == 0
    (run,) = _all_runs(client)
    capsys.readouterr()
    assert main(["reproduce", run.info.run_id, "-q", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["status"] == "FINISHED"
    (score,) = report["metrics"]
    assert score["key"] == "score" and score["ok"] is False
    assert score["original"] == run.data.metrics["score"] != score["reproduced"]


def test_interactive_run_with_a_notebook_artifact_reproduces(
    store, client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(tmp_path / "explore.ipynb", [("import jupyter_mlops as m\nm.log(n=3)", [])])
    exp = client.create_experiment("explore")
    rid = client.create_run(exp).info.run_id
    client.log_metric(rid, "n", 3.0)
    client.log_artifact(rid, str(nb), "notebook")
    client.set_terminated(rid)
    bare = client.create_run(exp).info.run_id
    client.set_terminated(bare)

    assert main(["reproduce", bare]) == 2
    assert "no notebook artifact" in capsys.readouterr().err
    assert main(["reproduce", rid, "-q"]) == 0
    assert "REPRODUCED" in capsys.readouterr().out
    assert main(["reproduce", "0" * 32]) == 2


def test_background_handle_from_a_notebook(ip, store, client) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(store.root / "bg.ipynb", TRAIN)
    handle = ip.run_line_magic("mlops", f"run_notebook {nb} -p depth 2")
    assert handle.status in ("STARTING", "RUNNING")
    run_id = handle.run_id
    result = handle.wait(timeout=120)
    assert result.ok and handle.status == "FINISHED" and result.run_id == run_id
    assert handle.output_path is not None and handle.output_path.is_file()
    assert "FINISHED" in repr(handle)
    assert client.get_run(run_id).data.metrics["acc"] == pytest.approx(0.2)


@pytest.mark.parametrize("platform", ["posix", "non-posix"])
def test_cancel_interrupts_and_marks_killed(store, client, platform, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On POSIX a cancel interrupts the cell; without POSIX signals it kills the kernel."""
    import time

    import jupyter_mlops as mlops
    from jupyter_mlops.portability import TEST_NON_POSIX_ENV

    if platform == "non-posix":
        monkeypatch.setenv(TEST_NON_POSIX_ENV, "1")

    nb = _notebook(store.root / "slow.ipynb", [("import time\ntime.sleep(120)", [])])
    handle = mlops.run_notebook(nb, background=True)
    deadline = time.monotonic() + 60
    while (
        handle.progress is None or handle.progress.phase != "cell"
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    handle.cancel()
    result = handle.wait(timeout=60)
    assert result.status == "KILLED"
    assert client.get_run(result.run_id).info.status == "KILLED"


def test_cancel_while_the_kernel_starts_still_stops_the_first_cell(store, client) -> None:  # type: ignore[no-untyped-def]
    """A kernel ignores interrupts until it runs a cell: the cancel must outlast that."""
    import time

    import jupyter_mlops as mlops

    nb = _notebook(store.root / "slow.ipynb", [("import time\ntime.sleep(300)", [])])
    handle = mlops.run_notebook(nb, background=True)
    deadline = time.monotonic() + 60
    while handle.control._km is None and time.monotonic() < deadline:
        time.sleep(0.01)
    handle.cancel()  # the kernel is still booting: no cell is running yet
    result = handle.wait(timeout=90)
    assert result.status == "KILLED"
    assert client.get_run(result.run_id).info.status == "KILLED"


def _live_kernel_clients() -> tuple[int, int]:
    """Open ZMQ contexts and running heartbeat threads in this process."""
    import gc
    import threading

    import zmq
    from jupyter_client.channels import HBChannel

    gc.collect()
    contexts = sum(1 for o in gc.get_objects() if isinstance(o, zmq.Context) and not o.closed)
    beats = sum(1 for t in threading.enumerate() if isinstance(t, HBChannel))
    return contexts, beats


def test_a_process_running_many_notebooks_keeps_no_client_of_an_ended_kernel(store) -> None:  # type: ignore[no-untyped-def]
    """A scheduler or warm worker runs notebooks for days: each ended kernel's client goes too."""
    import jupyter_mlops as mlops

    ok = _notebook(store.root / "ok.ipynb", [("x = 1", [])])
    bad = _notebook(store.root / "bad.ipynb", [("raise ValueError('no')", [])])
    before = _live_kernel_clients()
    statuses = [mlops.run_notebook(nb).status for nb in (ok, bad, ok, bad)]
    assert statuses == ["FINISHED", "FAILED", "FINISHED", "FAILED"]
    assert _live_kernel_clients() == before
