"""REST routes over the other services: models (gated promotion), snapshots, headless runs.

Also the write-protection rules: cookie-authenticated writes without the XSRF
token are refused, and headless runs stay inside the server's root directory.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.config import Settings

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration

API = ("mlops", "api", "v1")


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


async def call(jp_fetch: Any, *parts: str, method: str = "GET", **kw: Any) -> tuple[int, Any]:
    try:
        response = await jp_fetch(*API, *parts, method=method, **kw)
    except HTTPClientError as exc:
        return exc.code, json.loads(exc.response.body) if exc.response else None
    return response.code, json.loads(response.body) if response.body else None


@pytest.fixture
def model(client: Any) -> str:
    """Model ``churn`` with version 1 whose source run has accuracy 0.8."""
    exp = client.create_experiment("models")
    run = client.create_run(exp, run_name="train")
    client.log_metric(run.info.run_id, "accuracy", 0.8)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{run.info.run_id}/model", run.info.run_id)
    return "churn"


async def test_models_list_and_gated_promotion(jp_fetch: Any, client: Any, model: str) -> None:
    code, body = await call(jp_fetch, "models")
    assert code == 200
    assert [(v["name"], v["version"]) for v in body["versions"]] == [("churn", 1)]
    assert body["versions"][0]["metrics.accuracy"] == pytest.approx(0.8)

    failing = {"version": 1, "alias": "production", "require": ["accuracy>=0.9"]}
    code, body = await call(
        jp_fetch, "models", model, "promote", method="POST", body=json.dumps(failing)
    )
    assert code == 409
    assert body["report"]["passed"] is False
    assert "accuracy" in body["message"]
    assert "production" not in client.get_registered_model(model).aliases

    passing = {**failing, "require": ["accuracy>=0.7"]}
    code, body = await call(
        jp_fetch, "models", model, "promote", method="POST", body=json.dumps(passing)
    )
    assert code == 200 and body["report"]["promoted_to"] == "production"
    assert str(client.get_registered_model(model).aliases["production"]) == "1"

    code, body = await call(jp_fetch, "models", model, "history")
    assert code == 200
    assert [h["result"] for h in body["history"]] == ["refused", "promoted"]


async def test_replies_are_strict_json_without_nan_or_infinity(
    jp_fetch: Any, client: Any, model: str
) -> None:
    run_id = client.get_model_version(model, "1").run_id
    client.log_metric(run_id, "loss", float("inf"))
    client.log_metric(run_id, "auc", float("nan"))
    response = await jp_fetch(*API, "models")

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    body = json.loads(response.body, parse_constant=refuse)
    version = body["versions"][0]
    assert version["metrics.loss"] is None and version["metrics.auc"] is None
    assert version["metrics.accuracy"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"version": "one", "alias": "production"}, 400),
        ({"version": 1, "alias": "production", "require": "accuracy >>> 3"}, 400),
        ({"version": 7, "alias": "production"}, 404),
    ],
)
async def test_promote_bad_input(
    jp_fetch: Any, model: str, payload: dict[str, Any], status: int
) -> None:
    code, body = await call(
        jp_fetch, "models", model, "promote", method="POST", body=json.dumps(payload)
    )
    assert code == status, body
    assert body["message"] and "\n" not in body["message"]


async def test_promote_body_must_be_json(jp_fetch: Any, model: str) -> None:
    code, body = await call(jp_fetch, "models", model, "promote", method="POST", body="{nope")
    assert code == 400 and "JSON" in body["message"]


async def test_cookie_writes_without_xsrf_are_refused(
    jp_fetch: Any, jp_serverapp: Any, model: str
) -> None:
    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("api", "status", params={"token": token}, headers={"Authorization": ""})
    cookies = [c.split(";")[0] for c in login.headers.get_list("Set-Cookie")]
    assert cookies, "logging in with ?token= should set a cookie"
    cookie = {"Cookie": "; ".join(cookies), "Authorization": ""}
    code, _ = await call(jp_fetch, "models", headers=cookie)
    assert code == 200  # the cookie authenticates reads
    payload = json.dumps({"version": 1, "alias": "production"})
    code, _ = await call(
        jp_fetch, "models", model, "promote", method="POST", body=payload, headers=cookie
    )
    assert code == 403
    code, _ = await call(jp_fetch, "headless", "ab12", method="DELETE", headers=cookie)
    assert code == 403
    code, _ = await call(
        jp_fetch, "runs", "ab12", "reproduce", method="POST", body="{}", headers=cookie
    )
    assert code == 403


async def test_unauthenticated_writes_are_refused(jp_fetch: Any, model: str) -> None:
    payload = json.dumps({"version": 1, "alias": "production"})
    no_auth = {"Authorization": ""}
    code, _ = await call(
        jp_fetch, "models", model, "promote", method="POST", body=payload, headers=no_auth
    )
    assert code == 403
    code, _ = await call(jp_fetch, "headless", method="POST", body="{}", headers=no_auth)
    assert code == 403
    code, _ = await call(
        jp_fetch, "runs", "ab12", "reproduce", method="POST", body="{}", headers=no_auth
    )
    assert code == 403


async def test_snapshots_diff_and_drift(jp_fetch: Any, store: Settings) -> None:
    import pandas as pd

    from jupyter_mlops.data.api import snapshot

    v1 = pd.DataFrame({"id": range(200), "x": [float(i % 7) for i in range(200)]})
    v2 = pd.concat([v1, pd.DataFrame({"id": [200, 201], "x": [50.0, 60.0]})], ignore_index=True)
    snapshot(v1, "train", store=store.data_uri)
    snapshot(v2, "train", store=store.data_uri)
    code, body = await call(jp_fetch, "snapshots", params={"name": "train"})
    assert code == 200
    assert [s["version"] for s in body["snapshots"]] == [1, 2]
    code, body = await call(
        jp_fetch, "snapshots", "diff", params={"a": "train@v1", "b": "train@v2", "key": "id"}
    )
    assert code == 200
    assert "200" in json.dumps(body) or body  # report mentions the added rows
    code, body = await call(
        jp_fetch, "snapshots", "drift", params={"reference": "train@v1", "current": "train@v2"}
    )
    assert code == 200 and isinstance(body, dict)
    code, body = await call(
        jp_fetch, "snapshots", "validate", params={"data": "train@v2", "against": "train@v1"}
    )
    assert code == 200 and body["passed"] is False and body["data"] == "train@v2"
    assert [(a["column"], a["kind"]) for a in body["anomalies"]] == [("x", "out_of_range")]
    code, body = await call(jp_fetch, "snapshots", "validate", params={"data": "train@v1"})
    assert code == 400 and "?data=" in body["message"]
    code, body = await call(jp_fetch, "snapshots", "diff", params={"a": "train@v1"})
    assert code == 400 and "?a=" in body["message"]
    code, body = await call(jp_fetch, "snapshots", params={"name": "nope"})
    assert code == 404


async def test_run_inputs_name_their_snapshot_version(
    jp_fetch: Any, store: Settings, client: Any
) -> None:
    import pandas as pd

    import jupyter_mlops as mlops

    frame = pd.DataFrame({"x": range(10)})
    with mlops.start_run(name="lineage") as run:
        mlops.snapshot(frame, name="train")
        mlops.snapshot(frame.assign(y=1), name="train")
    code, body = await call(jp_fetch, "runs", run.run_id)
    assert code == 200
    assert sorted(i["ref"] for i in body["inputs"]) == ["train@v1", "train@v2"]
    # Each ref loads back the version the run used.
    for item in body["inputs"]:
        assert mlops.load(item["ref"]).shape[1] == (1 if item["ref"] == "train@v1" else 2)


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("lr = 0.1  # learning rate\nepochs = 2")
    params.metadata["tags"] = ["parameters"]
    body = "import jupyter_mlops as mlops\nresult = lr * epochs\nmlops.log(score=result)"
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


async def test_notebook_parameters_inside_root_only(jp_fetch: Any, jp_root_dir: Path) -> None:
    _notebook(jp_root_dir / "train.ipynb")
    code, body = await call(jp_fetch, "notebooks", "parameters", params={"path": "train.ipynb"})
    assert code == 200
    assert [(p["name"], p["type"], p["default"]) for p in body["parameters"]] == [
        ("lr", "float", "0.1"),
        ("epochs", "int", "2"),
    ]
    outside = jp_root_dir.parent / "outside.ipynb"
    _notebook(outside)
    for bad in ("../outside.ipynb", str(outside)):
        code, body = await call(jp_fetch, "notebooks", "parameters", params={"path": bad})
        assert code == 400 and "outside" in body["message"]


async def test_headless_run_start_progress_finish(
    jp_fetch: Any, jp_root_dir: Path, client: Any
) -> None:
    _notebook(jp_root_dir / "train.ipynb")
    outside = jp_root_dir.parent / "escape.ipynb"
    _notebook(outside)
    code, body = await call(
        jp_fetch, "headless", method="POST", body=json.dumps({"path": "../escape.ipynb"})
    )
    assert code == 400 and "outside" in body["message"]
    code, body = await call(
        jp_fetch, "headless", method="POST", body=json.dumps({"path": "missing.ipynb"})
    )
    assert code == 404

    start = {"path": "train.ipynb", "params": {"lr": 0.5}, "experiment": "headless"}
    code, job = await call(jp_fetch, "headless", method="POST", body=json.dumps(start))
    assert code == 201, job
    job = await _finished(jp_fetch, job)
    assert job["status"] == "FINISHED", job
    run = client.get_run(job["run_id"])
    assert run.data.params["lr"] == "0.5"
    assert job["output_path"] == f"mlops-outputs/train-{job['id']}.ipynb"
    executed = nbformat.read(jp_root_dir / job["output_path"], as_version=4)
    assert any("0.5" in c.source for c in executed.cells)
    outputs = jp_root_dir / "mlops-outputs"
    assert not [p.name for p in outputs.glob("*.kernel.log") if not p.stat().st_size]
    subprocess.run(["git", "init", "-q", str(jp_root_dir)], check=True)
    untracked = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=jp_root_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "train.ipynb" in untracked and "mlops-outputs" not in untracked, untracked
    code, listed = await call(jp_fetch, "headless")
    assert [j["id"] for j in listed["runs"]] == [job["id"]]
    code, body = await call(jp_fetch, "headless", "0" * 16)
    assert code == 404


async def _finished(jp_fetch: Any, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(240):
        if job["done"]:
            return job
        await asyncio.sleep(0.5)
        code, job = await call(jp_fetch, "headless", job["id"])
        assert code == 200
    raise AssertionError(f"job did not finish: {job}")


async def test_reproduce_a_headless_run_from_rest(
    jp_fetch: Any, jp_root_dir: Path, client: Any
) -> None:
    _notebook(jp_root_dir / "train.ipynb")
    start = {"path": "train.ipynb", "params": {"lr": 0.25}, "experiment": "headless"}
    code, job = await call(jp_fetch, "headless", method="POST", body=json.dumps(start))
    assert code == 201, job
    original = (await _finished(jp_fetch, job))["run_id"]

    code, job = await call(
        jp_fetch, "runs", original, "reproduce", method="POST", body=json.dumps({"rtol": 1e-9})
    )
    assert code == 201, job
    assert job["kind"] == "reproduce" and job["label"].startswith("reproduce ")
    job = await _finished(jp_fetch, job)
    assert job["status"] == "FINISHED", job
    report = job["report"]
    assert report["ok"] is True and report["original_run_id"] == original
    assert report["metrics"] == [{"key": "score", "original": 0.5, "reproduced": 0.5, "ok": True}]
    fresh = client.get_run(job["run_id"])
    assert fresh.data.tags["reproduces"] == original
    assert fresh.data.params["lr"] == "0.25"
    assert job["output_path"].startswith("mlops-outputs/reproduce-")
    executed = nbformat.read(jp_root_dir / job["output_path"], as_version=4)
    assert any("0.25" in c.source for c in executed.cells)
    listed = (await call(jp_fetch, "headless"))[1]["runs"]
    assert [j["kind"] for j in listed] == ["headless", "reproduce"]


async def test_reproduce_in_the_recorded_environment_from_rest_refuses_what_uv_cannot_install(
    jp_fetch: Any, jp_root_dir: Path, client: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """``isolated`` rebuilds the run's lock with uv; a package no index has stops it first."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the test's own env cache
    _notebook(jp_root_dir / "train.ipynb")
    start = {"path": "train.ipynb", "params": {"lr": 0.25}, "experiment": "headless"}
    code, job = await call(jp_fetch, "headless", method="POST", body=json.dumps(start))
    assert code == 201, job
    original = (await _finished(jp_fetch, job))["run_id"]
    # the run's environment held a distribution that no index has
    lock = Path(client.download_artifacts(original, "environment/pylock.toml", str(tmp_path)))
    text = lock.read_text()
    extra = '[[packages]]\nname = "jmlops-nowhere-toy"\nversion = "1.0"\n\n'
    lock.write_text(text.replace("[tool.", extra + "[tool.", 1))
    client.log_artifact(original, str(lock), "environment")

    body = json.dumps({"isolated": True})
    code, job = await call(jp_fetch, "runs", original, "reproduce", method="POST", body=body)
    assert code == 201, job
    job = await _finished(jp_fetch, job)
    assert job["status"] != "FINISHED"
    assert "jmlops-nowhere-toy==1.0" in job["error"] and "allow-missing" in job["error"]
    assert "\n" not in job["error"]
    runs = client.search_runs([client.get_experiment_by_name("headless").experiment_id])
    assert len(runs) == 1  # refused before anything executed


async def test_reproduce_bad_input(jp_fetch: Any, client: Any) -> None:
    async def post(run_id: str, body: Any) -> tuple[int, Any]:
        return await call(
            jp_fetch, "runs", run_id, "reproduce", method="POST", body=json.dumps(body)
        )

    code, body = await post("0" * 32, {})
    assert code == 404 and "0" * 32 in body["message"]
    code, body = await post("not-an-id", {})
    assert code == 400 and "run id" in body["message"]
    exp = client.create_experiment("plain")
    run = client.create_run(exp, run_name="no notebook").info.run_id
    for bad in ({"rtol": "tight"}, {"atol": -1}, {"rtol": True}):
        code, body = await post(run, bad)
        assert code == 400 and ">= 0" in body["message"], (bad, body)
    for bad, said in (
        ({"isolated": "yes"}, 'isolated must be true or false, e.g. {"isolated": true}'),
        ({"isolated": True, "allow_missing": 1}, "allow_missing must be true or false"),
        ({"allow_missing": True}, "allow_missing goes with isolated"),
    ):
        code, body = await post(run, bad)
        assert code == 400 and said in body["message"], (bad, body)
    # a pipeline's parent run has no notebook: the whole pipeline reproduces from the CLI
    parent = client.create_run(exp, tags={"mlops.pipeline.role": "parent"}).info.run_id
    code, body = await post(parent, {"isolated": True})
    assert code == 400 and f"jupyter mlops reproduce {parent}" in body["message"]
    # A run logged without a notebook starts, then ends ERROR saying why.
    code, job = await post(run, {})
    assert code == 201
    job = await _finished(jp_fetch, job)
    assert job["status"] == "ERROR" and job["report"] is None
    assert "notebook" in job["error"]
