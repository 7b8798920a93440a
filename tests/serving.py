"""The served model of the serving tests: registering, starting ``jupyter mlops serve``, calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_mlops.testing.processes import free_port, stop_group, wait_http


def wine() -> tuple[Any, Any]:
    """The wine data set: features and target."""
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True, as_frame=True)


def register_wine(
    name: str = "wine", alias: str = "production", n_estimators: int = 20, max_depth: int = 3
) -> str:
    """Snapshot the wine features, fit a classifier on them and register it with ``alias``.

    ``n_estimators=1, max_depth=1`` gives a weak model (about 70 % right on its data).
    """
    from sklearn.ensemble import GradientBoostingClassifier

    import jupyter_mlops as mlops

    X, y = wine()
    clf = GradientBoostingClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=0
    ).fit(X, y)
    with mlops.start_run():
        mlops.snapshot(X, name="wine-train")
        mlops.log(accuracy=float(clf.score(X, y)), n_estimators=n_estimators)
        version = mlops.register_model(clf, name, data="wine-train", alias=alias)
    return str(version.version)


@contextmanager
def serving(
    root: Path, args: list[str], log_path: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``jupyter mlops serve ARGS --port P`` on the store at ``root``; yield its base URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("jupyter-mlops")
    full_env = {**os.environ, "MLOPS_HOME": str(root), **(env or {})}
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(exe), "serve", *args, "--port", str(port)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health", proc, 120, log=lambda: log_path.read_text()[-3000:])
        yield base
    finally:
        stop_group(proc)
        log.close()


def score(base: str, rows: Any, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    """POST ``rows`` as ``dataframe_split``; return status, JSON body and the version header."""
    body = json.dumps({"dataframe_split": rows.to_dict(orient="split")}).encode()
    request = urllib.request.Request(
        f"{base}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read()), resp.headers.get("X-Mlops-Model-Version")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), err.headers.get("X-Mlops-Model-Version")


def metrics(base: str) -> dict[str, float]:
    """``GET /metrics`` parsed by the official client's parser: ``name{labels}`` -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def post(
    base: str, path: str, payload: Any, token: str | None = None, raw: bytes | None = None
) -> tuple[int, Any, Any]:
    """POST ``payload`` as JSON (or ``raw`` bytes); return status, decoded body and headers."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as err:
        body = err.read()
        return err.code, json.loads(body) if body else {}, err.headers


def split(rows: Any, **extra: Any) -> dict[str, Any]:
    """A ``dataframe_split`` body of ``rows`` with ``extra`` keys beside it."""
    return {"dataframe_split": json.loads(rows.to_json(orient="split", index=False)), **extra}
