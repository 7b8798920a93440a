"""Binder: build the environment from ``binder/`` alone, as repo2docker does, and run the examples.

repo2docker installs ``binder/requirements.txt``, copies the repository, runs
``binder/postBuild`` from its root and starts Jupyter. Here the same happens in
a fresh virtual environment (no Docker) with a private ``HOME``; pip's wheel
cache is shared so repeated runs do not download again. Then every example
notebook is executed with that environment's papermill and kernel.

Slow (minutes): ``pytest -m "not binder"`` skips it; ``make test`` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Binder launches on the embedded store whatever the session's store (MLOPS_*/MLFLOW_* are
# cleared), so the team pass would only build the same environment again.
pytestmark = [pytest.mark.integration, pytest.mark.binder, pytest.mark.sqlite_only]

REPO = Path(__file__).resolve().parents[2]
#: built JupyterLab extension: not in git; `make test` builds it before pytest
LABEXT_BUILD = Path("src/jupyter_mlops/labextension")
NOTEBOOKS = ["quickstart.ipynb", "data_versioning.ipynb", "model_registry.ipynb", "reproduce.ipynb"]


def _checkout(dest: Path) -> Path:
    """The files a clone has (plus the labextension build, so postBuild skips npm)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    if (REPO / LABEXT_BUILD / "static" / "style.js").exists():
        shutil.copytree(REPO / LABEXT_BUILD, dest / LABEXT_BUILD, dirs_exist_ok=True)
    return dest


def _environment(venv: Path, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_", "MLFLOW_", "JUPYTER_", "PYTHON", "VIRTUAL_ENV"))
    }
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env.update(
        HOME=str(home),
        PIP_CACHE_DIR=cache,
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("binder")
    repo = _checkout(base / "repo")
    venv, home = base / "venv", base / "home"
    home.mkdir()
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    env = _environment(venv, home)
    _run(["python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], repo, env)
    _run(["bash", "binder/postBuild"], repo, env)
    env["MLOPS_HOME"] = str(repo)  # the launched repository is the project root
    return repo, env


def test_postbuild_activates_the_extension_and_opens_the_quickstart(
    binder_env: tuple[Path, dict[str, str]],
) -> None:
    repo, env = binder_env
    venv = Path(env["VIRTUAL_ENV"])
    where = _run(["python", "-c", "import jupyter_mlops; print(jupyter_mlops.__file__)"], repo, env)
    assert where.strip().startswith(str(venv)), (
        "the package must be installed, not imported from the checkout"
    )
    for argv, name in ((["server", "extension", "list"], "jupyter_mlops"),
                       (["labextension", "list"], "jupyter-mlops")):  # fmt: skip
        listing = subprocess.run(
            ["jupyter", *argv], cwd=repo, env=env, capture_output=True, text=True, check=True
        )
        shown = (listing.stdout + listing.stderr).splitlines()
        assert any(name in line and "enabled" in line for line in shown), shown
    config = (
        Path(env["HOME"]) / ".jupyter" / "jupyter_server_config.d" / "jupyter-mlops-binder.json"
    )
    url = json.loads(config.read_text())["ServerApp"]["default_url"]
    assert (repo / url.removeprefix("/lab/tree/")).is_file()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_example_runs_in_the_binder_environment(
    binder_env: tuple[Path, dict[str, str]], notebook: str
) -> None:
    repo, env = binder_env
    folder = repo / "example_notebooks"
    out = folder / notebook.replace(".ipynb", ".out.ipynb")
    _run(
        ["papermill", "--log-level", "WARNING", "--cwd", str(folder), notebook, str(out)],
        folder,
        env,
    )
    cells = json.loads(out.read_text())["cells"]
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_pipeline_runs_and_reruns_cached_in_the_binder_environment(
    binder_env: tuple[Path, dict[str, str]],
) -> None:
    repo, env = binder_env
    argv = ["jupyter", "mlops", "pipeline", "run", "example_notebooks/pipeline/pipeline.yaml"]
    first = json.loads(_run([*argv, "--quiet", "--json"], repo, env))
    assert all(u["status"] in ("ran", "cached") for u in first["units"])
    second = json.loads(_run([*argv, "--quiet", "--json"], repo, env))
    assert [u["status"] for u in second["units"]] == ["cached"] * len(first["units"])
