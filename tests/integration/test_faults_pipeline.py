"""A step's kernel SIGKILLed mid-pipeline: the step is recorded KILLED and ``--resume`` finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.testing.notebooks import code, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

PIPELINE = """
name: killed
steps:
  a:
    notebook: a.ipynb
  b:
    notebook: b.ipynb
    needs: [a]
  c:
    notebook: c.ipynb
    needs: [b]
"""

# b hangs while the flag file exists, after a flushed value and telling the test its pid
HANGS = """
import os, pathlib, time
import jupyter_mlops as mlops
mlops.log(started=1)
mlops.flush()
flag = pathlib.Path(os.environ["HANG_FLAG"])
if flag.exists():
    pathlib.Path(os.environ["KERNEL_PID_FILE"]).write_text(str(os.getpid()))
    time.sleep(600)
mlops.log(done=1)
"""


def _cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("jupyter-mlops")), *args]


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if proc.poll() is not None:
            raise AssertionError(f"pipeline ended before b started: {proc.communicate()}")
        assert time.monotonic() < deadline, "step b never started"
        time.sleep(0.2)
    return path.read_text().strip()


def _kill_step_b(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """Run the pipeline, SIGKILL step b's kernel; return (pipeline path, stderr)."""
    flag, pid_file = root / "hang.flag", root / "kernel.pid"
    flag.write_text("hang")
    monkeypatch.setenv("HANG_FLAG", str(flag))
    monkeypatch.setenv("KERNEL_PID_FILE", str(pid_file))
    write_notebook(root / "a.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(a=1)")])
    write_notebook(root / "b.ipynb", [code(HANGS)])
    write_notebook(root / "c.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(c=1)")])
    path = write_pipeline(root / "pipeline.yaml", PIPELINE)
    proc = subprocess.Popen(
        _cli("pipeline", "run", str(path), "-j", "1", "--quiet"),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.kill(int(_wait_for(pid_file, proc)), signal.SIGKILL)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 1, out + err
    assert "Traceback" not in err
    flag.unlink()
    return path, err


def _runs(client: Any) -> dict[str, Any]:
    """Latest run of each name in experiment ``killed``."""
    exp = client.get_experiment_by_name("killed")
    latest: dict[str, Any] = {}
    for run in client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"]):
        latest.setdefault(run.info.run_name, run)
    return latest


def test_kernel_killed_mid_step_is_killed_and_resume_finishes(
    store: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, err = _kill_step_b(store.root, monkeypatch)
    assert "b" in err
    runs = _runs(client)
    assert runs["a"].info.status == "FINISHED"
    assert runs["b"].info.status == "KILLED"
    assert "c" not in runs  # never started: its upstream died
    assert runs["b"].data.metrics.get("started") == 1.0  # what b flushed before it died is kept

    resumed = subprocess.run(
        _cli("pipeline", "run", str(path), "-j", "1", "--resume", "--quiet"),
        cwd=store.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = _runs(client)
    assert after["a"].info.run_id == runs["a"].info.run_id  # reused, not run again
    assert after["b"].info.status == after["c"].info.status == "FINISHED"
    assert after["b"].data.metrics["done"] == 1.0
