"""The environment a headless kernel starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.config import load_settings
from jupyter_mlops.headless.execution import kernel_env


def test_a_kernel_gets_the_callers_environment_but_not_a_servers_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schedule a serving process runs must not count in the server's Prometheus files."""
    (tmp_path / ".mlops").mkdir()
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "serve-metrics"))
    monkeypatch.setenv("SOME_SETTING", "kept")
    settings = load_settings(tmp_path)
    env = kernel_env(settings, "run1", tmp_path / "nb.ipynb", None)
    assert env["SOME_SETTING"] == "kept" and env["MLOPS_RUN_ID"] == "run1"
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    asked = kernel_env(settings, "run1", tmp_path / "nb.ipynb", {"PROMETHEUS_MULTIPROC_DIR": "x"})
    assert asked["PROMETHEUS_MULTIPROC_DIR"] == "x"  # a caller that means it still can
