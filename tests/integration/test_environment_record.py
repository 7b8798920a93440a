"""Every run records its environment lock; ``jupyter mlops env`` reads it back."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, write_notebook
from jupyter_mlops.tracking.writing.environment_lock import (
    LOCK_ARTIFACT,
    LOCK_DIGEST_TAG,
    current_lock,
)

pytestmark = pytest.mark.integration


def _lock_of(client, run_id: str) -> dict:  # type: ignore[no-untyped-def]
    path = client.download_artifacts(run_id, LOCK_ARTIFACT)
    return tomllib.loads(Path(path).read_text())


def test_headless_and_interactive_runs_record_the_lock_and_env_reads_it(
    store, client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    nb = write_notebook(store.root / "train.ipynb", [code("x = 1")])
    assert main(["run", str(nb), "-q"]) == 0
    (headless,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    with mlops.start_run(name="interactive") as run:
        mlops.log(acc=0.5)
    interactive = client.get_run(run.run_id)
    expected = current_lock()
    for recorded in (headless, interactive):
        assert recorded.data.tags[LOCK_DIGEST_TAG] == expected.digest()
        doc = _lock_of(client, recorded.info.run_id)
        versions = {p["name"]: p["version"] for p in doc["packages"]}
        assert versions == expected.versions
    capsys.readouterr()

    assert main(["env", "show", headless.info.run_id]) == 0
    shown = capsys.readouterr().out
    assert f"{len(expected.packages)} distributions" in shown and "mlflow" in shown
    out = tmp_path / "requirements.txt"
    assert main(["env", "export", "interactive", "--format", "requirements", "-o", str(out)]) == 0
    assert f"pandas=={expected.versions['pandas']}" in out.read_text().splitlines()


def test_env_bad_input_is_one_line_and_writes_nothing(
    store, client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with mlops.start_run(name="r"):
        mlops.log(a=1)
    capsys.readouterr()
    out = tmp_path / "x.toml"
    assert main(["env", "export", "r", "--format", "xml", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pylock, requirements" in err
    assert not out.exists()
    assert main(["env", "show", "no-such-run"]) == 2
    assert "no run with id or name" in capsys.readouterr().err
