"""The ipywidgets panel on a real SQLite store: widget state asserted in Python."""

from __future__ import annotations

import re

import ipywidgets as w
import pytest
from IPython.core.error import UsageError
from mlflow.entities import Metric, Param, RunTag

import jupyter_mlops as mlops
from jupyter_mlops.testing.processes import wait_until
from jupyter_mlops.widgets.charts import VEGA_LITE

pytestmark = pytest.mark.integration

XSS = "<img src=x onerror=alert(1)>"


def _runs(client, exp: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        rid = client.create_run(exp, start_time=1_700_000_000_000 + i, run_name=f"r{i:02d}")
        rid = rid.info.run_id
        history = [Metric("acc", (i * 7 % n) / n + s / 100, 0, s) for s in range(3)]
        params = [Param("model", ("rf", "gbm")[i % 2]), Param("depth", str(i % 3))]
        client.log_batch(rid, metrics=history, params=params, tags=[RunTag("team", "a")])
        client.set_terminated(rid, "FINISHED")
        ids.append(rid)
    return ids


@pytest.fixture
def populated(store, client):
    mlops.experiment("panel")
    exp = client.get_experiment_by_name("panel").experiment_id
    return client, exp, _runs(client, exp, 23)


def _all_html(widget) -> str:
    """Every HTML widget value in the widget tree, concatenated.

    Chart bundles are left out: Vega-Lite draws data as SVG/canvas text, never as markup.
    """
    parts = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        parts.append(_all_html(child))
    return "\n".join(parts)


def test_panel_has_its_tabs_and_the_first_page(populated):
    client, exp, _ids = populated
    p = mlops.panel(page_size=10, live=False)
    try:
        assert p.tabs.titles == ("Runs", "Compare", "Models", "Data", "Schedules", "Table")
        tab = p.runs
        assert tab.experiment.value == exp and tab.total == 23
        newest_first = [r.info.run_id for r in client.search_runs([exp], max_results=10)]
        assert [r.run_id for r in tab.rows] == newest_first
        assert [b.description for b in tab.name_buttons] == [f"r{i:02d}" for i in range(22, 12, -1)]
        assert "1–10 of 23" in tab.page_label.value and tab.prev_button.disabled
        assert set(tab.columns.value) == {"metrics.acc", "params.depth", "params.model"}
        header = [b.description for b in tab.header_buttons.values()]
        assert header[:4] == ["name", "status", "start ▼", "duration"]
    finally:
        p.close()


def test_sort_filter_and_page_match_mlflow(populated):
    client, exp, _ = populated
    p = mlops.panel(page_size=10, live=False)
    tab = p.runs
    try:
        tab.sort_by("metrics.acc")
        by_acc = client.search_runs([exp], order_by=["metrics.acc DESC"], max_results=100)
        assert [r.run_id for r in tab.rows] == [r.info.run_id for r in by_acc[:10]]
        assert tab.header_buttons["metrics.acc"].description == "metrics.acc ▼"
        tab.go_to_page(3)
        assert [r.run_id for r in tab.rows] == [r.info.run_id for r in by_acc[20:]]
        assert tab.next_button.disabled and tab.name_buttons[3].disabled
        tab.sort_by("metrics.acc")  # again: ascending, back to page 1
        assert tab.rows[0].run_id == by_acc[-1].info.run_id and tab.page_number == 1

        assert tab.set_filter("params.model = 'rf' and metrics.acc > 0.5")
        wanted = client.search_runs([exp], "params.model = 'rf' and metrics.acc > 0.5")
        assert tab.total == len(wanted) and tab.message.value == ""
        shown = [r.run_id for r in tab.rows]

        assert not tab.set_filter("metrics.acc >")  # bad: inline message, view kept
        assert "Invalid clause" in tab.message.value and "metrics.acc &gt; 0.8" in tab.message.value
        assert [r.run_id for r in tab.rows] == shown and tab.filter_string.startswith("params")
        tab.filter_box.value = "params.depth = '1'"  # typing in the box works the same way
        assert tab.total == len(client.search_runs([exp], "params.depth = '1'"))
        assert tab.message.value == ""
    finally:
        p.close()


def test_selecting_a_run_shows_its_detail_and_history_chart(populated):
    _client, _exp, _ids = populated
    p = mlops.panel(live=False)
    try:
        target = p.runs.rows[2]
        p.runs.name_buttons[2].click()
        assert p.runs.selected == target.run_id
        assert p.runs.name_buttons[2].button_style == "info"
        assert target.run_id in p.detail.header.value and "FINISHED" in p.detail.header.value
        params = p.detail.sections["Params"].value
        assert "model" in params and target.params["model"] in params
        assert "3" in p.detail.sections["Metrics"].value  # points in acc's history
        spec = p.detail.chart.outputs[0]["data"][VEGA_LITE]
        points = [v for v in spec["data"]["values"] if v["metric"] == "acc"]
        assert [v["step"] for v in points] == [0, 1, 2]
    finally:
        p.close()


def test_user_text_is_escaped_everywhere(store, client):
    mlops.experiment("xss")
    with mlops.start_run(name=XSS, tags={"note": "<b>bold</b>"}):
        mlops.log(model="<script>alert(2)</script>", acc=0.5)
        mlops.log(acc=0.6, step=1)
    other = mlops.start_run(name="plain")
    mlops.log(model="rf", acc=0.7)
    mlops.end_run()
    p = mlops.panel(live=False)
    try:
        assert XSS in [b.description for b in p.runs.name_buttons]  # plain-text widget
        p.runs.select(p.runs.rows[1].run_id)
        p.runs.compare_ids[:] = [p.runs.rows[0].run_id, other.run_id]
        p.compare.compare(p.runs.compare_ids)
        rendered = _all_html(p.widget)
        assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered
        assert "&lt;b&gt;bold&lt;/b&gt;" in rendered
        assert not re.search(r"<img|<script|<b>bold", rendered)
    finally:
        p.close()


def test_compare_highlights_differing_params_and_overlays_curves(populated):
    client, _exp, ids = populated
    p = mlops.panel(live=False)
    try:
        assert not p.compare.compare(ids[:1])
        assert "pick 2 to 10 runs" in p.compare.message.value
        assert not p.compare.compare(ids[:11])
        for n in (0, 1, 3):
            p.runs.tick_boxes[n].value = True
        chosen = [p.runs.rows[n].run_id for n in (0, 1, 3)]
        assert p.runs.compare_ids == chosen
        p.compare.compare_button.click()
        assert p.compare.run_ids == chosen
        expected = {
            k
            for k in ("model", "depth")
            if len({client.get_run(r).data.params[k] for r in chosen}) > 1
        }
        assert set(p.compare.differing_params) == expected
        assert p.compare.params_html.value.count("background") == len(expected)
        spec = p.compare.chart.outputs[0]["data"][VEGA_LITE]
        assert len({v["run"] for v in spec["data"]["values"]}) == 3
        assert spec["spec"]["encoding"]["color"]["field"] == "run"
    finally:
        p.close()


def test_live_run_updates_by_itself_without_blocking(store, client):
    mlops.experiment("live")
    run = mlops.start_run(name="watch-me")
    mlops.log(loss=1.0, step=0)
    mlops.flush()
    p = mlops.panel(live=True)
    p.live.interval = 0.2
    try:
        assert p.runs.selected == run.run_id  # the kernel's active run is watched
        for step in range(1, 6):
            mlops.log(loss=1.0 / (step + 1), step=step)
        mlops.flush()
        wait_until(lambda: len(p.detail.history.get("loss", [])) == 6, "six loss points", 10, 0.05)
        spec = p.detail.chart.outputs[0]["data"][VEGA_LITE]
        assert len(spec["data"]["values"]) == 6
        assert "RUNNING" in p.detail.header.value
        mlops.end_run()
        wait_until(lambda: "FINISHED" in p.detail.header.value, "a finished header", 10, 0.05)
        wait_until(lambda: p.runs.rows[0].status == "FINISHED", "a finished row", 10, 0.05)
        assert p.live.errors == 0
    finally:
        p.close()
    assert not p.live.running


def test_magic_shows_panel_and_refuses_bad_input(ip, populated, capsys):
    with pytest.raises(UsageError) as err:
        ip.run_line_magic("mlops", "panel --page-size 7")
    assert "page_size must be one of 10, 25, 50, 100" in str(err.value)
    assert type(err.value) is UsageError
    with pytest.raises(UsageError, match="Invalid clause"):
        ip.run_line_magic("mlops", 'panel --filter "metrics.acc >"')
    with pytest.raises(UsageError, match="no experiment named 'nope'"):
        ip.run_line_magic("mlops", "panel --experiment nope")
    ip.run_line_magic("mlops", "panel --no-live --filter \"params.model = 'gbm'\"")
    view = ip.user_ns["_mlops_panel"]
    try:
        assert view.live is None and view.runs.total == 11
    finally:
        view.close()


def test_models_tab_lists_versions_and_promotes_through_gates(store):
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    mlops.experiment("models")
    with mlops.start_run(name="train"):
        mlops.log(accuracy=0.93)
        model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
        mlops.register_model(model, "churn", example=[[0.5]])
    p = mlops.panel(live=False)
    try:
        p.tabs.selected_index = 2  # opening the tab loads it
        tab = p.models
        assert tab.loaded and list(tab.models_frame["name"]) == ["churn"]
        assert tab.model.value == "churn"
        tab.version.value, tab.alias.value = "1", "production"
        tab.require.value = "accuracy>=0.99"
        assert not tab.promote()
        assert "FAIL" in tab.report_html.value and "stays on" in tab.report_html.value
        tab.require.value = "accuracy>=0.9"
        assert tab.promote()
        assert "is now &#x27;production&#x27;" in tab.report_html.value
        assert "production" in tab.models_html.value
        assert "production" in tab.history_html.value
    finally:
        p.close()


def test_data_tab_versions_diff_and_drift(store):
    import pandas as pd

    mlops.snapshot(pd.DataFrame({"id": range(50), "x": [float(i) for i in range(50)]}), "train")
    shifted = pd.DataFrame({"id": range(60), "x": [float(i) + 40 for i in range(60)]})
    mlops.snapshot(shifted, "train")
    p = mlops.panel(live=False)
    try:
        p.tabs.selected_index = 3
        tab = p.data
        assert tab.name.value == "train" and len(tab.versions_frame) == 2
        assert "x" in tab.schema_html.value
        tab.key.value = "id"
        assert tab.diff()
        assert "+10 added" in tab.result_html.value
        assert tab.drift()
        assert "x" in tab.drift_report.drifted_columns
        assert tab.validate()
        assert not tab.validation_report.passed
        assert "out_of_range" in tab.result_html.value and "Validation of train@v2" in (
            tab.result_html.value
        )
        tab.a.options = ()
        assert not tab.diff() and "pick two snapshot versions" in tab.result_html.value
    finally:
        p.close()
