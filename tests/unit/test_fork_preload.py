"""What a kernel template preloads: allow-listed imports of the first cells, plus configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.config import project_preload
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.headless.fork.preload import (
    FIRST_CELLS,
    configured_preload,
    notebook_preload,
    wanted_preload,
)
from jupyter_mlops.testing.notebooks import code, markdown, write_notebook


def test_allow_listed_imports_of_the_first_code_cells_are_found_without_running(
    tmp_path: Path,
) -> None:
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        [
            markdown("import torch  # prose, not code"),
            code("%matplotlib inline\n!pip list\nimport numpy as np, requests\nimport pandas"),
            code("from sklearn.ensemble import RandomForestClassifier\nfrom . import local"),
            code("import matplotlib.pyplot as plt\nimport pyarrow.flight\nraise SystemExit"),
            code("def f(:\n    pass"),  # not Python: skipped, the rest still read
            *[code("x = 1") for _ in range(FIRST_CELLS)],
            code("import scipy  # past the first cells"),
        ],
    )
    assert notebook_preload(nb) == ["numpy", "pandas", "sklearn.ensemble", "matplotlib"]
    ours = write_notebook(
        tmp_path / "ours.ipynb",
        [code("import jupyter_mlops as mlops\nfrom jupyter_mlops import log")],
    )
    # the tracking API a first mlops.log() imports, not only the lazy package
    assert notebook_preload(ours) == ["jupyter_mlops.tracking.api"]


def test_configured_preload_adds_the_environment_and_pyproject(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\npreload = ["mylib.features", "polars"]\n'
    )
    env = {"MLOPS_HOME": str(tmp_path)}
    assert configured_preload(env) == ["mylib.features", "polars"]
    both = {**env, "MLOPS_PRELOAD": "a.b, c ,not a name,polars"}
    assert configured_preload(both) == ["a.b", "c", "polars", "mylib.features"]
    nb = write_notebook(tmp_path / "nb.ipynb", [code("import polars\nimport numpy")])
    assert wanted_preload(str(nb), env) == ["mylib.features", "polars", "numpy"]


@pytest.mark.parametrize("value", ['"numpy"', '["numpy", "not-a-module"]', "[1]"])
def test_a_bad_preload_setting_says_the_right_form(tmp_path: Path, value: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.jupyter-mlops]\npreload = {value}\n")
    with pytest.raises(InvalidInput) as err:
        project_preload(tmp_path)
    message = str(err.value)
    assert "\n" not in message and 'preload = ["pandas", "sklearn.ensemble"]' in message
