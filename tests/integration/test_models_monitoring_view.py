"""The Models view shows each version's latest monitoring runs and alerts: API, panel and REST."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.config import Settings
from jupyter_mlops.errors import NotFound
from jupyter_mlops.models.monitoring_runs import log_monitoring
from jupyter_mlops.models.refs import resolve
from jupyter_mlops.tracking.api import tracker
from tests.serving import register_wine, wine

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration

ALERT = "drift_share_drifted > 0.3 <b>"  # markup in user text must stay text


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def monitored(store: Settings) -> dict[str, str]:
    """Version 1 of ``wine`` with one plain monitoring run and one alert run (newest)."""
    register_wine()
    X, _ = wine()
    plain = mlops.monitor("wine@production", X.sample(40, random_state=0)).run_id
    version = resolve(tracker().client, "wine/1")
    alert, _ = log_monitoring(
        version, "wine@production", [0, 1, 1], None, "wine-train@v1",
        alert={"expression": ALERT, "value": 0.5},
    )  # fmt: skip
    return {"plain": plain, "alert": alert}


def test_monitoring_lists_runs_and_alerts_newest_first(monitored: dict[str, str]) -> None:
    frame = mlops.monitoring("wine")
    assert list(frame["run_id"]) == [monitored["alert"], monitored["plain"]]
    assert list(frame["version"]) == [1, 1]
    assert list(frame["alert"]) == [ALERT, ""]
    assert frame["value"].iloc[0] == 0.5 and frame["rows"].iloc[1] == 40
    with pytest.raises(NotFound):
        mlops.monitoring("nothing")


def test_panel_models_tab_shows_monitoring_escaped(monitored: dict[str, str]) -> None:
    p = mlops.panel(live=False)
    try:
        p.tabs.selected_index = 2
        tab = p.models
        assert tab.model.value == "wine"
        shown = tab.monitoring_html.value
        assert monitored["alert"] in shown and monitored["plain"] in shown
        assert "drift_share_drifted &gt; 0.3 &lt;b&gt;" in shown and "<b>" not in shown.replace(
            "<b>Monitoring", ""
        )
    finally:
        p.close()


async def test_rest_monitoring_route(jp_fetch: Any, monitored: dict[str, str]) -> None:
    response = await jp_fetch("mlops", "api", "v1", "models", "wine", "monitoring")
    body = json.loads(response.body)
    assert body["model"] == "wine"
    assert [(m["run_id"], m["alert"]) for m in body["monitoring"]] == [
        (monitored["alert"], ALERT),
        (monitored["plain"], ""),
    ]
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("mlops", "api", "v1", "models", "nothing", "monitoring")
    assert err.value.code == 404
