"""``jupyter mlops serve``: MLflow's scoring server on 127.0.0.1 answers like the local model."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_mlops as mlops
from tests.mlflow_server import free_port

pytestmark = pytest.mark.integration


def _log_text(proc: subprocess.Popen[bytes]) -> str:
    path = getattr(proc, "log_path", None)
    return Path(path).read_text()[-3000:] if path else ""


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {_log_text(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} not ready after {timeout}s")


def test_serve_round_trip_matches_local_predictions(store: Any, tmp_path: Path) -> None:
    from sklearn.datasets import load_wine
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = load_wine(return_X_y=True, as_frame=True)
    clf = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X.iloc[::2], y.iloc[::2])
    with mlops.start_run():
        mlops.log(accuracy=float(clf.score(X.iloc[1::2], y.iloc[1::2])))
        mlops.register_model(clf, "wine", example=X, alias="production")

    port = free_port()
    exe = Path(sys.executable).with_name("jupyter-mlops")
    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "wine@production", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the server's workers die with the group below
    )
    proc.log_path = str(tmp_path / "serve.log")  # type: ignore[attr-defined]
    try:
        _wait_ready(f"http://127.0.0.1:{port}/ping", proc)
        rows = X.iloc[1::2]
        body = json.dumps({"dataframe_split": rows.to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            served = json.loads(resp.read())["predictions"]
        np.testing.assert_array_equal(np.asarray(served), clf.predict(rows))
        np.testing.assert_array_equal(
            np.asarray(served), mlops.load_model("wine@production").predict(rows)
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    banner = (tmp_path / "serve.log").read_text()
    assert f"serving wine version 1 at http://127.0.0.1:{port}/invocations" in banner
