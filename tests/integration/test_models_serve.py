"""``jupyter mlops serve``: MLflow's scoring server on 127.0.0.1 answers like the local model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.testing.processes import free_port, stop_group, wait_http

pytestmark = pytest.mark.integration


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
    try:
        wait_http(
            f"http://127.0.0.1:{port}/ping",
            proc,
            120,
            log=lambda: (tmp_path / "serve.log").read_text()[-3000:],
        )
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
        stop_group(proc)
        log.close()
    banner = (tmp_path / "serve.log").read_text()
    assert f"serving wine version 1 at http://127.0.0.1:{port}/invocations" in banner
