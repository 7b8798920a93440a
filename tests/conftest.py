"""Shared fixtures: an isolated embedded store per test, a real IPython shell, markers.

Markers: ``integration`` (real kernels, subprocesses, servers) and ``ui``
(a real browser). ``ui`` tests are skipped with a reason when Chromium is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.tracking import api

_ENV_VARS = (
    "MLOPS_HOME",
    "MLFLOW_TRACKING_URI",
    "MLOPS_DATA_URI",
    "MLOPS_EXPERIMENT",
    "MLOPS_RUN_ID",
    "MLOPS_NOTEBOOK_PATH",
    "JPY_SESSION_NAME",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chromium = shutil.which("chromium") or os.path.exists("/usr/bin/chromium")
    skip_ui = pytest.mark.skip(reason="Chromium is not installed (make test installs it)")
    for item in items:
        if "ui" in item.keywords and not chromium:
            item.add_marker(skip_ui)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """An empty embedded store rooted at ``tmp_path/project``, used by the API and magics."""
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "project"
    (root / ".mlops").mkdir(parents=True)
    monkeypatch.setenv("MLOPS_HOME", str(root))
    monkeypatch.chdir(root)
    settings = load_settings()
    api.reset(settings)
    yield settings
    api.reset(None)


@pytest.fixture
def client(store: Settings):  # type: ignore[no-untyped-def]
    """An ``MlflowClient`` on the test store, reading exactly what MLflow's UI reads."""
    from mlflow import MlflowClient

    from jupyter_mlops.tracking.store import open_client

    open_client(store)  # the store is created the way the product creates it

    return MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)


@pytest.fixture(scope="session")
def _shell(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from IPython.testing.globalipapp import start_ipython

    from jupyter_mlops import magics

    # Loading warms MLflow up against a store: keep it out of the checkout.
    previous = os.environ.get("MLOPS_HOME")
    os.environ["MLOPS_HOME"] = str(tmp_path_factory.mktemp("load-ext-home"))
    try:
        shell = start_ipython()
        shell.run_line_magic("load_ext", "jupyter_mlops")
        if magics.warm_up_thread is not None:
            magics.warm_up_thread.join()
    finally:
        if previous is None:
            os.environ.pop("MLOPS_HOME", None)
        else:
            os.environ["MLOPS_HOME"] = previous
    return shell


@pytest.fixture
def ip(_shell, store: Settings):  # type: ignore[no-untyped-def]
    """A real IPython shell with ``%load_ext jupyter_mlops`` done, on the test store."""
    yield _shell
    for name in [n for n in list(_shell.user_ns) if not n.startswith("_")]:
        if name not in ("In", "Out", "get_ipython", "exit", "quit"):
            _shell.user_ns.pop(name, None)
