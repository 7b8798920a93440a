"""What a newcomer reads in a 1440×900 window: the sidebar at Lab's default width, the
runs table's charts, an HTML artifact's preview, and tabs that survive a reload.

One real ``jupyter lab`` serves a store with a parent run and its nested runs (long
categorical, sparse and single-value columns), a standalone run with an HTML report,
two snapshot versions and a model with a promotion. Screenshots land in
``build/ui-screenshots/`` (``width-*``/``charts-*``, each ``-light.png`` and ``-dark.png``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.lab_server import mlops_lab, screenshot

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "src" / "jupyter_mlops" / "labextension"
SHOTS = REPO / "build" / "ui-screenshots"
#: the forms a moment must not be shown in (the UI shows "5 min ago", absolute on hover)
RAW_DATES = re.compile(r"\d{4}-\d\d-\d\dT\d\d|\d{1,2}/\d{1,2}/\d{4}")
LONG_MODEL = "GradientBoostingClassifier(max_depth=3, subsample=0.8)"
REPORT = (
    "<!DOCTYPE html><html><body><h1>Profile report</h1><p>5 rows</p>"
    "<script>document.body.dataset.ran = 'yes'; parent.document.title = 'pwned'</script>"
    "</body></html>"
)


def _fill(root: Path) -> dict[str, str]:
    import pandas as pd
    from mlflow import MlflowClient

    from jupyter_mlops.config import load_settings
    from jupyter_mlops.data.api import snapshot
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    client: MlflowClient = open_client(load_settings(home=str(root)))
    exp = client.create_experiment(
        "first-hour", artifact_location=(root / ".mlops" / "artifacts").as_uri()
    )
    ids: dict[str, str] = {}
    parent = client.create_run(exp, run_name="sweep").info.run_id
    ids["sweep"] = parent
    trials = [(LONG_MODEL, 0.81, "0.1"), ("RandomForest", 0.86, "0.05"), ("LogReg", 0.77, "0.01")]
    for k, (model, acc, lr) in enumerate(trials):
        rid = client.create_run(
            exp, run_name=f"trial-{k}", tags={"mlflow.parentRunId": parent}
        ).info.run_id
        client.log_param(rid, "model", model)
        client.log_param(rid, "lr", lr)
        client.log_param(rid, "seed", "42")
        client.log_metric(rid, "acc", acc)
        client.log_metric(rid, "f1", acc - 0.1)  # not on the baseline: a sparse column
        client.set_terminated(rid)
        ids[f"trial-{k}"] = rid
    client.set_terminated(parent)
    base = client.create_run(exp, run_name="baseline-rf").info.run_id
    client.log_param(base, "model", "dummy")
    client.log_param(base, "seed", "42")  # one value in every run
    client.log_text(base, REPORT, "report.html")
    client.log_metric(base, "acc", 0.5)
    client.log_metric(base, "loss", 0.7)
    client.set_terminated(base, "FAILED")
    ids["baseline"] = base
    store = str(root / ".mlops" / "data")
    snapshot(pd.DataFrame({"x": range(5)}), "train", store=store)
    snapshot(pd.DataFrame({"x": range(9)}), "train", store=store)
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{ids['trial-1']}/model", ids["trial-1"])
    _promote(root)
    return ids


def _promote(root: Path) -> None:
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.models.api import promote
    from jupyter_mlops.tracking import api

    api.reset(load_settings(home=str(root)))
    try:
        promote("churn", 1, "staging")
    finally:
        api.reset(None)


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with mlops_lab(tmp_path_factory, BUILT, _fill) as (url, token, ids, base):
        yield {"url": url, "token": token, "ids": ids, "root": base / "project"}


def _open(page: Any, lab: dict[str, Any]) -> Any:
    page.goto(f"{lab['url']}/lab?reset&token={lab['token']}")
    tab = page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]')
    tab.wait_for(state="visible", timeout=60_000)
    tab.click()
    page.locator(".jp-mlops-run").first.wait_for(state="visible", timeout=30_000)
    return page.locator("#jp-mlops-sidebar")


def _set_theme(page: Any, theme: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel").get_by_text(theme, exact=True).click()
    light = "false" if "Dark" in theme else "true"
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'")
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)


def _shots(page: Any, name: str) -> None:
    """``name``-light.png, then the same view in the dark theme, and back to light."""
    screenshot(page, SHOTS, f"{name}-light")
    _set_theme(page, "JupyterLab Dark")
    screenshot(page, SHOTS, f"{name}-dark")
    _set_theme(page, "JupyterLab Light")


def _cut(page: Any, selector: str) -> list[str]:
    """Texts of ``selector`` elements that are cut: wider than their box or past the sidebar."""
    cut: list[str] = page.evaluate(
        """sel => {
          const panel = document.querySelector('#jp-mlops-sidebar').getBoundingClientRect();
          return [...document.querySelectorAll(sel)].filter(el => {
            const r = el.getBoundingClientRect();
            return el.scrollWidth > el.clientWidth + 1 || r.right > panel.right + 1
              || r.left < panel.left - 1 || r.width === 0;
          }).map(el => el.textContent);
        }""",
        selector,
    )
    return cut


def test_sections_runs_status_time_and_key_metric_read_at_default_width(
    page: Any, lab: dict[str, Any]
) -> None:
    sidebar = _open(page, lab)
    width = sidebar.bounding_box()["width"]
    assert width < 320, width  # Lab's default, not widened by the test
    labels = page.locator(".jp-mlops-tabs .lm-TabBar-tabLabel").all_inner_texts()
    assert {"Runs", "Models", "Data", "Headless"} <= set(labels), labels
    assert _cut(page, ".jp-mlops-tabs .lm-TabBar-tabLabel") == []

    # The filter's hint is whole.
    hint = page.evaluate(
        """() => {
          const input = document.querySelector('.jp-mlops-runs .jp-mlops-filter');
          const ctx = document.createElement('canvas').getContext('2d');
          const style = getComputedStyle(input);
          ctx.font = style.font;
          const room = input.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
          return [input.placeholder, ctx.measureText(input.placeholder).width, room];
        }"""
    )
    assert hint[1] <= hint[2], hint

    # Top-level runs only: the sweep's trials are folded under it.
    rows = page.locator(".jp-mlops-run")
    names = page.locator(".jp-mlops-run .jp-mlops-run-name").all_inner_texts()
    assert names == ["baseline-rf", "sweep"]
    assert (
        page.locator(".jp-mlops-run", has_text="sweep")
        .locator(".jp-mlops-child-count")
        .inner_text()
        == " (3)"
    )
    # Each run's status, start time and the experiment's key metric, inside the sidebar.
    assert page.locator(".jp-mlops-run-list .jp-mlops-key-metric").inner_text() == "acc"
    assert rows.locator(".jp-mlops-badge").all_inner_texts() == ["FAILED", "FINISHED"]
    assert rows.first.locator(".jp-mlops-key-value").inner_text() == "0.5000"
    assert _cut(page, ".jp-mlops-run .jp-mlops-run-line") == []
    assert _cut(page, ".jp-mlops-run .jp-mlops-badge") == []
    assert _cut(page, ".jp-mlops-run .jp-mlops-key-value") == []
    assert _cut(page, ".jp-mlops-run .jp-mlops-time") == []
    times = rows.locator(".jp-mlops-time")
    assert set(times.all_inner_texts()) <= {"just now", "1 min ago", "2 min ago"}
    assert all(RAW_DATES.search(t or "") is None for t in times.all_inner_texts())
    assert all(
        re.search(r"\d\d:\d\d", times.nth(i).get_attribute("title") or "")
        for i in range(times.count())
    )

    # The footer's buttons and page label each stay on one line.
    heights = page.locator(".jp-mlops-runs .jp-mlops-footer > *").evaluate_all(
        "items => items.map(i => i.getBoundingClientRect().height)"
    )
    assert heights and max(heights) < 30, heights
    page.locator(".jp-mlops-run", has_text="sweep").locator(".jp-mlops-toggle").click()
    page.wait_for_function("document.querySelectorAll('.jp-mlops-run').length === 5")
    nested = page.locator('.jp-mlops-run[data-depth="1"] .jp-mlops-run-name').all_inner_texts()
    assert nested == ["trial-2", "trial-1", "trial-0"]
    _shots(page, "width-runs")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_data_and_model_history_tables_name_their_columns(page: Any, lab: dict[str, Any]) -> None:
    _open(page, lab)
    page.locator(".jp-mlops-tabs .lm-TabBar-tab", has_text="Data").click()
    versions = page.locator(".jp-mlops-data .jp-mlops-versions")
    versions.wait_for(state="visible", timeout=20_000)
    heads = versions.locator("thead th").all_inner_texts()
    assert heads == ["Version", "Shape", "Created"]
    assert _cut(page, ".jp-mlops-versions th") == []
    created = versions.locator("tbody .jp-mlops-time").all_inner_texts()
    assert len(created) == 2 and all(RAW_DATES.search(t) is None for t in created), created
    _shots(page, "width-data")

    page.locator(".jp-mlops-tabs .lm-TabBar-tab", has_text="Models").click()
    page.locator(".jp-mlops-model-name", has_text="churn").first.click()
    history = page.locator(".jp-mlops-history")
    history.wait_for(state="visible", timeout=20_000)
    assert history.locator("thead th").all_inner_texts() == [
        "When", "v", "Alias", "Result",
    ]  # fmt: skip
    assert history.locator("tbody td").nth(3).get_attribute("title") == "gates: (none)"
    assert _cut(page, ".jp-mlops-history th") == []
    when = history.locator("tbody .jp-mlops-time").first
    assert RAW_DATES.search(when.inner_text()) is None
    assert re.search(r"\d\d:\d\d", when.get_attribute("title") or "")
    text = page.locator("#jp-mlops-sidebar").inner_text()
    assert RAW_DATES.search(text) is None, RAW_DATES.findall(text)
    _shots(page, "width-models")
    assert page.dialogs == []  # type: ignore[attr-defined]


_AXES_JS = """() => [...document.querySelectorAll('.jp-mlops-parcoords .jp-mlops-axis')].map(g => ({
  column: g.dataset.column,
  x: parseFloat(g.querySelector('line').getAttribute('x1')),
  labels: [...g.querySelectorAll('text')].map(t => {
    const box = t.getBBox();
    return {text: t.firstChild.textContent, title: t.querySelector('title')?.textContent,
            left: box.x, right: box.x + box.width};
  })
}))"""


def _open_table(page: Any, lab: dict[str, Any]) -> Any:
    _open(page, lab)
    page.locator(".jp-mlops-open-table").click()
    view = page.locator(".jp-mlops-runs-view")
    view.locator(".jp-mlops-parcoords .jp-mlops-axis").first.wait_for(timeout=30_000)
    return view


def test_charts_keep_labels_to_their_axis_and_scatter_opens_on_numbers(
    page: Any, lab: dict[str, Any]
) -> None:
    view = _open_table(page, lab)
    axes = page.evaluate(_AXES_JS)
    columns = [a["column"] for a in axes]
    assert {"params.model", "params.seed", "metrics.f1"} <= set(columns), columns
    width = float(view.locator(".jp-mlops-parcoords svg").get_attribute("width") or 0)
    for k, axis in enumerate(axes):
        left = axes[k - 1]["x"] if k else 0.0
        right = axes[k + 1]["x"] if k + 1 < len(axes) else width
        for label in axis["labels"]:
            # no label reaches a neighbouring axis (it would overlap that axis' labels)
            assert left < label["left"] and label["right"] < right, (axis["column"], label)
    model = next(a for a in axes if a["column"] == "params.model")
    long = [lb for lb in model["labels"] if lb["title"] == LONG_MODEL]
    assert long and long[0]["text"].endswith("…") and len(long[0]["text"]) < len(LONG_MODEL)
    seed = next(a for a in axes if a["column"] == "params.seed")
    assert [lb["text"] for lb in seed["labels"][1:]] == ["42"]  # one value, said once
    picks = view.locator(".jp-mlops-scatter .jp-mlops-axis-pick")
    assert [picks.nth(1).input_value(), picks.nth(0).input_value()] == [
        "params.lr", "metrics.acc",
    ]  # fmt: skip
    _shots(page, "charts-runs-table")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_html_artifact_renders_as_a_page_without_its_scripts(
    page: Any, lab: dict[str, Any]
) -> None:
    _open(page, lab)
    page.locator(".jp-mlops-run", has_text="baseline-rf").click()
    detail = page.locator(".jp-mlops-detail")
    detail.locator(".jp-mlops-file", has_text="report.html").click()
    frame = detail.locator("iframe.jp-mlops-html-preview")
    frame.wait_for(state="visible", timeout=20_000)
    assert frame.get_attribute("sandbox") == ""
    inside = detail.frame_locator("iframe.jp-mlops-html-preview")
    assert inside.locator("h1").inner_text() == "Profile report"
    assert inside.locator("body").get_attribute("data-ran") is None
    assert page.title() != "pwned"
    assert detail.locator("pre", has_text="<!DOCTYPE").count() == 0
    _shots(page, "charts-html-artifact")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_run_detail_and_runs_table_tabs_come_back_after_a_reload(
    page: Any, lab: dict[str, Any]
) -> None:
    _open_table(page, lab)
    page.locator(".jp-mlops-run", has_text="baseline-rf").click()
    title = page.locator(".jp-mlops-detail .jp-mlops-run-title")
    title.wait_for(state="visible", timeout=20_000)
    # Lab saves the layout a moment after a change: wait until it holds both tabs.
    for _ in range(60):
        layout = page.evaluate(
            """async ([url, token]) => JSON.stringify((await (await fetch(
                 url + '/lab/api/workspaces/default?token=' + token)).json())
                 .data['layout-restorer:data']?.main ?? {})""",
            [lab["url"], lab["token"]],
        )
        if "jupyter-mlops:" in layout and "jupyter-mlops-runs-table:" in layout:
            break
        page.wait_for_timeout(500)
    assert "jupyter-mlops:" in layout and "jupyter-mlops-runs-table:" in layout, layout
    page.goto(f"{lab['url']}/lab?token={lab['token']}")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Runs: first-hour").wait_for(
        timeout=30_000
    )
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="baseline-rf").wait_for(
        timeout=30_000
    )
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="baseline-rf").click()
    assert title.inner_text() == "baseline-rf"
    screenshot(page, SHOTS, "restored-tabs")
    assert page.dialogs == []  # type: ignore[attr-defined]
