"""Which worker a client reaches, and which requests go to one at all (no processes started)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from jupyter_mlops.headless.worker import client as worker_client
from jupyter_mlops.headless.worker.address import socket_path, worker_key
from jupyter_mlops.headless.worker.outdated import CodeWatch


def test_the_key_follows_the_store_environment_only() -> None:
    base = {"PATH": "/usr/bin", "MLOPS_HOME": "/p", "HOME": "/root"}
    assert worker_key(base) == worker_key({**base, "PATH": "/other", "TERM": "xterm"})
    assert worker_key(base) != worker_key({**base, "MLFLOW_TRACKING_URI": "http://h:5000"})
    assert worker_key(base) != worker_key({**base, "MLOPS_HOME": "/q"})
    assert worker_key(base) != worker_key({**base, "MLFLOW_WORKSPACE": "team"})
    assert len(str(socket_path(worker_key(base)))) < 100  # AF_UNIX paths stop at 108 bytes


@pytest.mark.parametrize(
    ("value", "disabled"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_mlops_no_worker(monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool) -> None:
    monkeypatch.setenv("MLOPS_NO_WORKER", value)
    assert worker_client.workers_disabled() is disabled
    if disabled:
        assert worker_client.run_via_worker({"notebook": "/x.ipynb"}) is None
        assert worker_client.spawn_worker(Path("/nonexistent")) is None


def test_requests_carry_absolute_paths_and_odd_ones_stay_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    monkeypatch.chdir(tmp_path)
    request = worker_client.run_request("nb/train.ipynb", {"lr": 0.1}, output="out/o.ipynb")
    assert request is not None
    assert request["notebook"] == str(tmp_path / "nb" / "train.ipynb")
    assert request["output"] == str(tmp_path / "out" / "o.ipynb") and request["cwd"] is None
    # The in-process path quotes --output as typed; JSON cannot carry a YAML date.
    assert worker_client.run_request("train.ipynb", {}, output="o.txt") is None
    assert worker_client.run_request("train.ipynb", {"d": datetime.date(2024, 1, 2)}) is None


def test_code_watch_notices_a_loaded_module_changing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "probe.py"
    source.write_text("x = 1\n")
    module = types.ModuleType("jupyter_mlops._probe_for_test")
    module.__file__ = str(source)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    watch = CodeWatch()
    assert not watch.changed()
    source.write_text("x = 22\n")
    assert watch.changed()


def test_no_worker_answers_when_none_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_NO_WORKER", "0")
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))  # a key no worker has
    assert worker_client.worker_status() is None
    assert worker_client.stop_worker() is None
    assert worker_client.run_via_worker({"notebook": str(tmp_path / "x.ipynb")}) is None


def test_our_own_mlflow_defaults_do_not_change_the_worker_key() -> None:
    from jupyter_mlops.headless.worker.address import worker_key
    from jupyter_mlops.tracking.mlflow_bridge.store import MLFLOW_DEFAULTS

    base = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"}
    assert worker_key({**base, **MLFLOW_DEFAULTS}) == worker_key(base)
    assert worker_key({**base, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "true"}) != worker_key(base)
