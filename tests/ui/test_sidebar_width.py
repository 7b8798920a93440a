"""The sidebar read at Lab's default width, in a 1440×900 window, light and dark theme.

One real ``jupyter lab`` serves a store with a parent run and its nested runs, a
standalone run, two snapshot versions and a model with a promotion. Screenshots
land in ``build/ui-screenshots/`` (``width-*-light.png`` and ``width-*-dark.png``).
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
    for k, (model, acc) in enumerate(
        [("GradientBoostingClassifier", 0.81), ("RandomForestClassifier", 0.86), ("LogReg", 0.77)]
    ):
        rid = client.create_run(
            exp, run_name=f"trial-{k}", tags={"mlflow.parentRunId": parent}
        ).info.run_id
        client.log_param(rid, "model", model)
        client.log_metric(rid, "acc", acc)
        client.set_terminated(rid)
        ids[f"trial-{k}"] = rid
    client.set_terminated(parent)
    base = client.create_run(exp, run_name="baseline-rf").info.run_id
    client.log_param(base, "model", "dummy")
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
