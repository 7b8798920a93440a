"""The panel's Table tab on a real SQLite store: grouped rows, escaped text, Vega-Lite charts."""

from __future__ import annotations

import re

import pytest
from mlflow.entities import Metric, Param

import jupyter_mlops as mlops
from jupyter_mlops.widgets.charts import VEGA_LITE

pytestmark = pytest.mark.integration

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def sweep(store, client):
    mlops.experiment("panel-table")
    exp = client.get_experiment_by_name("panel-table").experiment_id
    parent = client.create_run(exp, run_name="sweep", start_time=1_000).info.run_id
    for i in range(4):
        tags = {"mlflow.parentRunId": parent}
        rid = client.create_run(exp, run_name=f"m{i}", start_time=2_000 + i, tags=tags).info.run_id
        client.log_batch(rid, metrics=[Metric("acc", i / 4, 0, 0)], params=[Param("lr", str(i))])
        client.set_terminated(rid)
    rid = client.create_run(exp, run_name=XSS, start_time=3_000).info.run_id
    client.log_batch(rid, metrics=[Metric("acc", 0.99, 0, 0)], params=[Param("lr", "<b>9</b>")])
    client.set_terminated(rid)
    client.set_terminated(parent)
    return exp


def _names(html: str) -> list[tuple[int, str]]:
    rows = re.findall(r'<tr data-depth="(\d+)"><td[^>]*>(?:↳ )?([^<]*)</td>', html)
    return [(int(d), n) for d, n in rows]


def test_table_tab_groups_nested_runs_and_escapes_text(sweep):
    p = mlops.panel("panel-table", live=False)
    try:
        assert p.tabs.titles[-1] == "Table"
        p.tabs.selected_index = p.tabs.titles.index("Table")
        tab = p.table
        assert set(tab.columns.value) == {"metrics.acc", "params.lr"}
        assert _names(tab.table.value) == [
            (0, "&lt;img src=x onerror=alert(1)&gt;"),
            (0, "sweep"),
            (1, "m3"),
            (1, "m2"),
            (1, "m1"),
            (1, "m0"),
        ]
        assert "<img" not in tab.table.value and "&lt;b&gt;9&lt;/b&gt;" in tab.table.value
        # every cell is padded and ruled: columns do not run together
        cells = re.findall(r"<t[dh](?:\s[^>]*)?>", tab.table.value)
        assert cells and all("padding:2px 8px" in c for c in cells), cells[:3]
        # lr holds text on one run: only acc is numeric, too few axes for any chart
        assert VEGA_LITE not in tab.charts.outputs[0]["data"]
        tab.filter_box.value = "params.lr != '<b>9</b>'"
        spec = tab.charts.outputs[0]["data"][VEGA_LITE]
        titles = [v["title"] for v in spec["hconcat"]]
        assert titles == ["Parallel coordinates", "acc against lr"]
        assert {r["run"] for r in spec["data"]["values"]} == {"m0", "m1", "m2", "m3"}
        assert [n for _, n in _names(tab.table.value)] == ["m3", "m2", "m1", "m0"]
    finally:
        p.close()


def test_table_tab_sorts_and_reports_a_bad_filter(sweep):
    p = mlops.panel("panel-table", live=False)
    try:
        tab = p.table
        tab.load()
        tab.order.value = "metrics.acc ASC"
        # missing values last, members under their parent in the same order
        names = [n for _, n in _names(tab.table.value)]
        assert names == ["&lt;img src=x onerror=alert(1)&gt;", "sweep", "m0", "m1", "m2", "m3"]
        before = tab.table.value
        tab.filter_box.value = "metrics.acc >>> 1"
        assert "filter" in tab.message.value and tab.table.value == before
    finally:
        p.close()
