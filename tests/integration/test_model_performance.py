"""Live performance over time per version and role, from the prediction log: the service, the
REST route and the panel's Models tab, on a real store with registered versions and labels.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.config import Settings
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.models.live_performance import performance_over_time
from jupyter_mlops.models.prediction_log import CHALLENGER, CHAMPION, new_ids, open_log

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration

HOUR = 3600.0


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def traffic(store: Settings, client: Any) -> dict[str, Any]:
    """Model ``churn``: v1 champion over two hours, v2 challenger in the second hour only.

    Hour one: v1 serves 10 rows, 8 labelled, 6 right. Hour two: v1 serves 10, 4 labelled,
    all right; v2 serves 10, 5 labelled, 4 right.
    """
    client.create_registered_model("churn")
    run = client.create_run(client.create_experiment("churn-training"))
    for _ in range(2):  # a tracking server takes only sources inside a run's artifacts
        client.create_model_version("churn", f"{run.info.artifact_uri}/model", run.info.run_id)
    start = time.time() - 2 * HOUR
    log = open_log("churn", settings=store)
    plan = [
        ("1", CHAMPION, start, 10, [1] * 6 + [0] * 2),
        ("1", CHAMPION, start + 1.5 * HOUR, 10, [1] * 4),
        ("2", CHALLENGER, start + 1.5 * HOUR, 10, [1] * 4 + [0]),
    ]
    try:
        for version, role, at, served, labels in plan:
            ids = new_ids(served)
            log.append(version, role, ids, None, [1] * served, at=at)
            log.add_labels(ids[: len(labels)], labels)
    finally:
        log.close()
    return {"start": start}


def _by_role(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(v["version"], v["role"]): v for v in body["versions"]}


def test_performance_per_version_and_role_over_time(store: Settings, traffic: Any) -> None:
    body = performance_over_time("churn", buckets=2, settings=store)
    assert body["model"] == "churn" and len(body["buckets"]) == 2
    found = _by_role(body)
    assert set(found) == {("1", CHAMPION), ("2", CHALLENGER)}
    champion, challenger = found["1", CHAMPION], found["2", CHALLENGER]
    assert (champion["requests"], champion["labels"]) == (20, 12)
    assert champion["coverage"] == pytest.approx(12 / 20)
    assert champion["metrics"]["accuracy"] == pytest.approx(10 / 12)
    assert challenger["task"] == "classification"
    assert challenger["metrics"]["accuracy"] == pytest.approx(4 / 5)
    first, second = champion["series"]
    assert (first["requests"], first["labels"], second["requests"], second["labels"]) == (
        10, 8, 10, 4,
    )  # fmt: skip
    assert first["metrics"]["accuracy"] == pytest.approx(6 / 8)
    assert second["metrics"]["accuracy"] == 1.0
    assert first["coverage"] == pytest.approx(0.8)
    # The challenger served in the second hour only: nothing in the first bucket.
    assert challenger["series"][0] == {"requests": 0, "labels": 0, "coverage": None, "metrics": {}}
    assert challenger["series"][1]["metrics"]["accuracy"] == pytest.approx(4 / 5)
    # A window of the last 4 labelled rows: the champion's 4 right answers of hour two.
    windowed = _by_role(performance_over_time("churn", window=4, settings=store))
    assert windowed["1", CHAMPION]["metrics"]["accuracy"] == 1.0


def test_bad_input_says_the_right_form(store: Settings, traffic: Any) -> None:
    with pytest.raises(NotFound, match="no registered model named 'nothing'"):
        performance_over_time("nothing", settings=store)
    with pytest.raises(InvalidInput, match="buckets 0 must be a whole number from 1 to 200"):
        performance_over_time("churn", buckets=0, settings=store)
    with pytest.raises(InvalidInput, match="window -1"):
        performance_over_time("churn", window=-1, settings=store)


def test_a_model_with_no_traffic_has_no_versions(store: Settings, client: Any) -> None:
    client.create_registered_model("quiet")
    assert performance_over_time("quiet", settings=store) == {
        "model": "quiet", "window": 1000, "buckets": [], "versions": [],
    }  # fmt: skip


async def test_rest_performance_route(jp_fetch: Any, traffic: Any) -> None:
    response = await jp_fetch(
        "mlops", "api", "v1", "models", "churn", "performance", params={"buckets": "2"}
    )
    body = json.loads(response.body)
    assert _by_role(body)["1", CHAMPION]["series"][0]["labels"] == 8
    for name, params, code in (
        ("nothing", {}, 404),
        ("churn", {"buckets": "0"}, 400),
        ("churn", {"window": "x"}, 400),
    ):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("mlops", "api", "v1", "models", name, "performance", params=params)
        assert err.value.code == code
        assert "\n" not in json.loads(err.value.response.body)["message"]


def test_panel_models_tab_shows_performance_per_version(store: Settings, traffic: Any) -> None:
    p = mlops.panel(live=False)
    try:
        p.tabs.selected_index = 2
        tab = p.models
        assert tab.model.value == "churn"
        table = tab.performance_html.value
        assert "champion" in table and "challenger" in table
        assert "0.8333" in table and "60%" in table  # champion accuracy and label coverage
        bundle = tab.performance_chart.outputs[0]["data"]
        spec = bundle["application/vnd.vegalite.v5+json"]
        shown = {(v["series"], v["measure"]) for v in spec["data"]["values"]}
        assert ("v1 champion", "accuracy") in shown and ("v2 challenger", "requests") in shown
    finally:
        p.close()
