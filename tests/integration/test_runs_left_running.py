"""No run is left RUNNING without a word: failures around executions end the run or say why."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.errors import InvalidInput, StoreError
from jupyter_mlops.headless.execution import execute_notebook
from jupyter_mlops.headless.kernel_pool import KernelPool
from jupyter_mlops.pipelines.runs import MANIFEST, NAME_TAG, ROLE_TAG, previous_results
from jupyter_mlops.testing.notebooks import code, write_notebook

pytestmark = pytest.mark.integration


def test_a_headless_run_that_fails_before_its_kernel_ends_failed(
    store: Any, client: Any, tmp_path: Path
) -> None:
    notebook = write_notebook(store.root / "nb.ipynb", [code("x = 1")])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidInput, match="cannot write the output notebook"):
        execute_notebook(notebook, output_path=blocker / "out.ipynb", settings=store)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert "cannot write the output notebook" in runs[0].data.tags["mlops.error"]


def test_resume_with_an_unreadable_manifest_says_so(store: Any, client: Any) -> None:
    exp = client.create_experiment("pipe")
    parent = client.create_run(exp, tags={NAME_TAG: "p", ROLE_TAG: "parent"}).info.run_id
    client.log_text(parent, "{not json", MANIFEST)
    client.set_terminated(parent, "FAILED")
    with pytest.raises(StoreError, match=r"cannot resume: pipeline.json .* cannot be read"):
        previous_results(client, exp, "p")


def test_resume_after_a_crash_before_the_manifest_still_works(store: Any, client: Any) -> None:
    exp = client.create_experiment("pipe")
    parent = client.create_run(exp, tags={NAME_TAG: "p", ROLE_TAG: "parent"}).info.run_id
    assert previous_results(client, exp, "p") == (parent, {})


def test_a_spare_kernel_that_cannot_start_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool = KernelPool()
    with caplog.at_level(logging.WARNING, logger="jupyter_mlops"):
        pool.expect("python3", {"MLOPS_HOME": str(tmp_path)}, str(tmp_path / "gone"))
        pool.close()  # waits for the spare's start to end
    said = [r.getMessage() for r in caplog.records]
    assert any("spare python3 kernel" in m and "did not start" in m for m in said), said
