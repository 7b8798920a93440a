"""REST: ``GET run-diff`` and ``GET models/{name}/card`` through a real Jupyter server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.config import Settings
from jupyter_mlops.testing.notebooks import code, params, write_notebook

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


def _run(client: Any, exp: str, tmp: Path, lr: str, body: str) -> str:
    run = client.create_run(exp, run_name=f"lr-{lr}")
    rid = run.info.run_id
    client.log_param(rid, "lr", lr)
    client.log_metric(rid, "acc", float(lr) * 2)
    nb = write_notebook(tmp / "train.ipynb", [params(f"lr = {lr}"), code(body)])
    client.log_artifact(rid, str(nb), artifact_path="notebook")
    client.set_terminated(rid)
    return rid


async def _get(jp_fetch: Any, *parts: str, **query: Any) -> Any:
    response = await jp_fetch("mlops", "api", "v1", *parts, params=query or None)
    return json.loads(response.body)


async def _error(jp_fetch: Any, *parts: str, **query: Any) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops", "api", "v1", *parts, params=query or None)
    return info.value.code, json.loads(info.value.response.body)["message"]


async def test_run_diff_route(jp_fetch: Any, client: Any, tmp_path: Path) -> None:
    exp = client.create_experiment("exp")
    a = _run(client, exp, tmp_path, "0.1", "print('train')")
    b = _run(client, exp, tmp_path, "0.2", "print('train harder')")
    body = await _get(jp_fetch, "run-diff", a=a, b=b)
    assert body["a"]["run_id"] == a and body["b"]["run_id"] == b
    cells = body["code"]["cells"]
    assert [(c["kind"], c["a_index"], c["b_index"]) for c in cells] == [
        ("modified", 0, 0),
        ("modified", 1, 1),
    ]
    assert "-lr = 0.1\n+lr = 0.2" in cells[0]["diff"]
    assert "+print('train harder')" in cells[1]["diff"]
    assert body["params"] == [{"key": "lr", "a": "0.1", "b": "0.2"}]
    assert body["metrics"][0]["ratio"] == pytest.approx(2.0)
    only = await _get(jp_fetch, "run-diff", a=a, b=b, only="params")
    assert only["code"] is None and only["metrics"] is None and only["params"]

    assert await _error(jp_fetch, "run-diff", a=a) == (400, "give two runs: ?a=RUN_ID&b=RUN_ID")
    code_, message = await _error(jp_fetch, "run-diff", a=a, b=b, only="nope")
    assert code_ == 400 and message.startswith("unknown section nope")
    code_, message = await _error(jp_fetch, "run-diff", a=a, b="no-such-run")
    assert code_ == 404 and "no run with id or name 'no-such-run'" in message
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops", "api", "v1", "run-diff", params={"a": a, "b": b},
                       headers={"Authorization": ""})  # fmt: skip
    assert info.value.code == 403


async def test_model_card_route(jp_fetch: Any, store: Settings) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    X = np.arange(20, dtype=float).reshape(-1, 1)
    clf = LogisticRegression().fit(X, (X[:, 0] > 9).astype(int))
    with mlops.start_run(name="train"):
        mlops.log(acc=0.95)
        mlops.register_model(clf, "churn", example=X[:3], alias="production",
                             card={"intended_use": "Demo <script>x</script>"})  # fmt: skip
    body = await _get(jp_fetch, "models", "churn", "card", alias="production")
    assert body["model"] == "churn" and body["version"] == "1"
    assert body["markdown"].startswith("---\n") and "## Intended use" in body["markdown"]
    assert "<script>x" not in body["html"] and "&lt;script&gt;x" in body["html"]
    code_, message = await _error(jp_fetch, "models", "churn", "card", alias="staging")
    assert code_ == 404 and "staging" in message
    code_, _ = await _error(jp_fetch, "models", "churn", "card", alias="production", version="1")
    assert code_ == 400
