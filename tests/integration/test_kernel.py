"""A real ipykernel kernel executing notebooks that use the magics (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import jupyter_mlops as mlops

pytestmark = pytest.mark.integration


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _execute(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Jupyter Server tells kernels their notebook this way; the kernel inherits it.
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()


def test_kernel_logs_capture_notebook_and_flush_at_shutdown(store, client, monkeypatch) -> None:
    nb = _notebook(
        store.root / "train.ipynb",
        "%load_ext jupyter_mlops",
        "%mlops log lr=0.01 model=rf",
        "import jupyter_mlops as mlops\n"
        "for i in range(500):\n"
        "    mlops.log(loss=1 / (i + 1), step=i)",
        # no %mlops flush / end: shutting the kernel down must make everything durable
    )
    _execute(nb, monkeypatch)
    exp = client.get_experiment_by_name("train")  # default experiment: the notebook's stem
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model": "rf"}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(500))
    assert run.data.tags["mlops.notebook.path"] == str(nb)
    assert run.data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert "ipykernel" in run.data.tags["mlops.kernel"]
    logged = [a.path for a in client.list_artifacts(run.info.run_id, "notebook")]
    assert logged == ["notebook/train.ipynb"]


def test_kernel_whose_last_cell_failed_ends_the_run_failed(store, client, monkeypatch) -> None:
    nb = _notebook(
        store.root / "broken.ipynb",
        "%load_ext jupyter_mlops\n%mlops experiment broken",
        "%mlops log acc=0.5",
        "raise ValueError('data went missing')",
    )
    with pytest.raises(CellExecutionError):
        _execute(nb, monkeypatch)
    exp = client.get_experiment_by_name("broken")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.metrics == {"acc": 0.5}


def test_numbers_declared_as_parameters_are_params_interactive_and_headless(
    store, client, monkeypatch
) -> None:
    nb = _notebook(
        store.root / "settings.ipynb",
        "lr = 0.01\nepochs = 3",
        "%load_ext jupyter_mlops\n%mlops experiment settings",
        "import jupyter_mlops as mlops\nmlops.log(lr=lr, epochs=epochs, model='rf', acc=0.9)",
        "%mlops log loss=0.5 --step 1   # a stepped value is a metric",
    )
    doc = nbformat.read(nb, as_version=4)
    doc.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(doc, nb)
    _execute(nb, monkeypatch)
    monkeypatch.delenv("JPY_SESSION_NAME")
    headless = mlops.run_notebook(nb, {"lr": 0.05}, experiment="settings")
    assert headless.status == "FINISHED", headless
    exp = client.get_experiment_by_name("settings")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.data.params for r in runs] == [
        {"lr": "0.01", "epochs": "3", "model": "rf"},
        {"lr": "0.05", "epochs": "3", "model": "rf"},
    ]
    assert [r.data.metrics for r in runs] == [{"acc": 0.9, "loss": 0.5}] * 2
