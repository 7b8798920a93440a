"""The main-area runs table in a real JupyterLab, driven through headless Chromium.

One Lab serves an embedded store holding a sweep (a parent run with nested members)
and many flat runs of 4 metrics and 4 params (``MLOPS_UI_TABLE_RUNS``, default 300).
Browser timings are printed and written beside the screenshots in
``build/ui-screenshots/``: reported, never asserted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.ui.lab_server import mlops_lab, screenshot

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "src" / "jupyter_mlops" / "labextension"
SHOTS = REPO / "build" / "ui-screenshots"
XSS_NAME = "<img src=x onerror=alert(1)>"
RUNS = int(os.environ.get("MLOPS_UI_TABLE_RUNS", "300"))
#: a project whose store holds an experiment ``bench-panel`` (``bench/bench_server.py`` builds
#: one with 10,000 runs): copied in first, so the last test reports timings on it
BIG_STORE = os.environ.get("MLOPS_UI_TABLE_STORE", "")
MEMBERS = 5
TIMINGS: dict[str, float] = {}


def _log(client: Any, exp: str, name: str, i: int, tags: dict[str, str] | None = None) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(exp, run_name=name, start_time=1_700_000_000_000 + i, tags=tags)
    rid: str = run.info.run_id
    acc = (i * 7919 % 1009) / 1009
    metrics = [Metric(k, v, 0, 0) for k, v in (("acc", acc), ("loss", 1 - acc), ("f1", acc / 2),
                                                ("auc", (i % 17) / 17))]  # fmt: skip
    params = [Param("lr", str(10 ** -(i % 4))), Param("depth", str(i % 12)),
              Param("model", ("rf", "gbm", "lr")[i % 3]), Param("seed", str(i))]  # fmt: skip
    client.log_batch(rid, metrics=metrics, params=params)
    client.set_terminated(rid, "FAILED" if i % 50 == 7 else "FINISHED")
    return rid


def _copy_big_store(root: Path) -> None:
    import sqlite3

    source = sqlite3.connect(f"file:{Path(BIG_STORE) / '.mlops' / 'mlflow.db'}?mode=ro", uri=True)
    target = sqlite3.connect(root / ".mlops" / "mlflow.db")
    with target:
        source.backup(target)
    source.close()
    target.close()


def _fill_store(root: Path) -> dict[str, Any]:
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    if BIG_STORE:
        _copy_big_store(root)
    client = open_client(load_settings(home=str(root)))
    exp = client.create_experiment("table-demo")
    best = max(range(RUNS), key=lambda i: (i * 7919 % 1009, i))
    names = [XSS_NAME if i == 3 else f"run-{i:05d}" for i in range(RUNS)]
    for i, name in enumerate(names):
        _log(client, exp, name, i)
    sweep = client.create_run(exp, run_name="sweep", start_time=1_800_000_000_000).info.run_id
    for k in range(MEMBERS):
        _log(client, exp, f"member-{k}", RUNS + k, {"mlflow.parentRunId": sweep})
    client.set_terminated(sweep)
    return {"experiment_id": exp, "best": names[best] if best < RUNS else None}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with mlops_lab(tmp_path_factory, BUILT, _fill_store) as (url, token, store, _):
        yield {"url": url, "token": token, **store}
    _report()


def _report() -> None:
    if not TIMINGS:
        return
    lines = [f"runs table, {RUNS + MEMBERS + 1} runs (4 metrics + 4 params) unless said:"]
    lines += [f"  {what}: {ms:.0f} ms" for what, ms in TIMINGS.items()]
    text = "\n".join(lines)
    print(f"\n{text}")  # reported, never asserted (shared machine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "runs-table-timing.txt").write_text(text + "\n")


def _open_lab(page: Any, lab: dict[str, Any]) -> None:
    page.goto(f"{lab['url']}/lab?reset&token={lab['token']}")
    page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]').wait_for(timeout=60_000)
    # the launcher shows once Lab has restored its layout: the palette stays open after that
    page.locator(".jp-LauncherCard").first.wait_for(state="visible", timeout=60_000)


def _palette(page: Any, label: str) -> float:
    """Run the palette command ``label``; return ``time.monotonic()`` when it was chosen."""
    box = page.locator(".lm-CommandPalette-input")
    for _ in range(3):  # a palette opened while Lab still settles can close again
        if not box.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            box.fill(label, timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    active = page.locator(".lm-CommandPalette-item.lm-mod-active", has_text=label)
    active.wait_for(state="visible")
    clicked = time.monotonic()
    box.press("Enter")  # runs the active (first matching) item
    return clicked


def _pick_experiment(page: Any, name: str) -> None:
    """Choose ``name`` in the sidebar (other features may have made newer experiments)."""
    page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]').click()
    picker = page.locator(".jp-mlops-runs .jp-mlops-experiment")
    option = picker.locator("option", has_text=name)
    option.wait_for(state="attached", timeout=60_000)
    first = page.locator(".jp-mlops-runs .jp-mlops-run").first
    switching = picker.input_value() != option.get_attribute("value")
    before = first.get_attribute("data-run-id") if switching and first.count() else None
    picker.select_option(label=name)
    first.wait_for(state="visible", timeout=60_000)
    if before is not None:  # the runs of the experiment shown before are gone
        page.wait_for_function(
            "id => document.querySelector('.jp-mlops-runs .jp-mlops-run')?.dataset.runId !== id",
            arg=before,
            timeout=120_000,
        )


def _loaded(page: Any) -> None:
    """Wait until every run is in the table (a large one shows its first page first)."""
    page.wait_for_function(
        "(document.querySelector('.jp-mlops-runs-view .jp-mlops-count')?.textContent ?? '')"
        ".match(/^\\d+ runs(?!.*loading)/)",
        timeout=120_000,
    )


def _open_view(page: Any, lab: dict[str, Any]) -> Any:
    _open_lab(page, lab)
    _pick_experiment(page, "table-demo")
    started = _palette(page, "MLOps: Runs table")
    view = page.locator(".jp-mlops-runs-view")
    view.locator(".jp-mlops-grid-row").first.wait_for(state="visible", timeout=30_000)
    TIMINGS.setdefault("palette Enter to rows shown", (time.monotonic() - started) * 1000)
    page.wait_for_function("document.querySelector('.jp-mlops-runs-view')?.dataset.firstPaintMs")
    first_paint = float(view.get_attribute("data-first-paint-ms"))
    TIMINGS.setdefault("view created to first paint", first_paint)
    _loaded(page)
    return view


#: in the page: click ``sel``, then wait until the first row's name changes; milliseconds
_ROUND_TRIP = """async ([sel, limit]) => {
  const first = () => document.querySelector('.jp-mlops-grid-row .jp-mlops-run-link')?.textContent;
  const before = first();
  const t0 = performance.now();
  document.querySelector(sel).click();
  while (first() === before && performance.now() - t0 < limit) {
    await new Promise(r => requestAnimationFrame(r));
  }
  return performance.now() - t0;
}"""


#: in the page: Enter in the filter box, then wait until the rows change and until every
#: matching run is loaded; milliseconds for both
_FILTER_TRIP = """async limit => {
  const view = document.querySelector('.jp-mlops-runs-view');
  const height = () => view.querySelector('.jp-mlops-grid-body').style.height;
  const count = () => view.querySelector('.jp-mlops-count').textContent;
  const [before, t0] = [height(), performance.now()];
  const box = view.querySelector('.jp-mlops-filter');
  box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  const until = async done => {
    while (!done() && performance.now() - t0 < limit) {
      await new Promise(r => requestAnimationFrame(r));
    }
    return performance.now() - t0;
  };
  const first = await until(() => height() !== before);
  return [first, await until(() => /^\\d+ runs(?!.*loading)/.test(count()))];
}"""


def _rows(view: Any) -> int:
    height = view.locator(".jp-mlops-grid-body").evaluate("el => parseFloat(el.style.height)")
    return round(height / 26)


def test_table_shows_metric_columns_nested_runs_and_sorts(page: Any, lab: dict[str, Any]) -> None:
    view = _open_view(page, lab)
    headers = view.locator(".jp-mlops-grid-head [data-column]").evaluate_all(
        "cells => cells.map(c => c.dataset.column)"
    )
    assert {"metrics.acc", "metrics.loss", "params.lr", "params.depth"} <= set(headers)
    # newest first: the sweep, its members indented under it
    sweep = view.locator(".jp-mlops-grid-row").first
    assert sweep.locator(".jp-mlops-run-link").inner_text() == "sweep"
    assert view.locator('.jp-mlops-grid-row[data-depth="1"]').count() == MEMBERS
    assert _rows(view) == RUNS + MEMBERS + 1
    sweep.locator(".jp-mlops-toggle").click()
    page.wait_for_function("!document.querySelector('.jp-mlops-grid-row[data-depth=\"1\"]')")
    assert _rows(view) == RUNS + 1
    ms = page.evaluate(_ROUND_TRIP, ['.jp-mlops-grid-head [data-column="metrics.acc"]', 20_000])
    TIMINGS["sort by a metric, click to rows redrawn"] = ms
    page.wait_for_function(
        "document.querySelector('.jp-mlops-grid-head [data-column=\"metrics.acc\"]')"
        "?.textContent.endsWith('▼')"
    )
    assert view.locator(".jp-mlops-grid-row .jp-mlops-run-link").first.inner_text() == lab["best"]
    badges = set(view.locator(".jp-mlops-grid-row .jp-mlops-badge").all_inner_texts())
    assert badges <= {"FINISHED", "FAILED"} and badges
    # user text stays text
    assert view.locator(".jp-mlops-run-link", has_text=XSS_NAME).count() <= 1
    assert view.locator('img[src="x"]').count() == 0
    screenshot(page, SHOTS, "runs-table")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_filter_box_and_user_text(page: Any, lab: dict[str, Any]) -> None:
    view = _open_view(page, lab)
    box = view.locator(".jp-mlops-filter")
    box.fill("params.model = 'gbm'")
    started = time.monotonic()
    box.press("Enter")
    page.wait_for_function(
        "parseFloat(document.querySelector('.jp-mlops-grid-body').style.height) < "
        f"{(RUNS + MEMBERS + 1) * 26}"
    )
    TIMINGS["filter, Enter to rows redrawn"] = (time.monotonic() - started) * 1000
    _loaded(page)
    models = view.locator('.jp-mlops-grid-row .jp-mlops-grid-cell[title="gbm"]').count()
    assert models == view.locator(".jp-mlops-grid-row").count()
    box.fill(f"attributes.run_name = '{XSS_NAME}'")
    box.press("Enter")
    link = view.locator(".jp-mlops-run-link", has_text=XSS_NAME)
    link.wait_for(state="visible", timeout=20_000)
    assert link.inner_text() == XSS_NAME and view.locator('img[src="x"]').count() == 0
    box.fill("metrics.acc >>> 1")
    box.press("Enter")
    error = view.locator(".jp-mlops-error")
    error.wait_for(state="visible", timeout=20_000)
    assert "filter" in error.inner_text()
    assert page.dialogs == []  # type: ignore[attr-defined]


def _brush(page: Any, view: Any, column: str, top: float, bottom: float) -> None:
    hit = view.locator(f'.jp-mlops-axis[data-column="{column}"] .jp-mlops-axis-hit')
    box = hit.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + top * box["height"])
    page.mouse.down()
    page.mouse.move(x, box["y"] + (top + bottom) / 2 * box["height"], steps=3)
    page.mouse.move(x, box["y"] + bottom * box["height"], steps=3)
    page.mouse.up()


def test_parallel_coordinates_brush_shrinks_table_then_compare(
    page: Any, lab: dict[str, Any]
) -> None:
    view = _open_view(page, lab)
    page.wait_for_function("document.querySelector('.jp-mlops-parcoords')?.dataset.drawMs")
    TIMINGS["parallel coordinates drawn"] = float(
        view.locator(".jp-mlops-parcoords").get_attribute("data-draw-ms")
    )
    assert view.locator(".jp-mlops-parcoords .jp-mlops-axis").count() >= 4
    before = _rows(view)
    _brush(page, view, "metrics.acc", 0.02, 0.3)  # the top of the acc axis: the best runs
    page.wait_for_function("document.querySelector('.jp-mlops-parcoords')?.dataset.brushMs")
    TIMINGS["brush, release to table and charts updated"] = float(
        view.locator(".jp-mlops-parcoords").get_attribute("data-brush-ms")
    )
    after = _rows(view)
    assert 0 < after < before
    assert f"{after} in brushes" in view.locator(".jp-mlops-count").inner_text()
    assert view.locator(".jp-mlops-brush").count() == 1
    screenshot(page, SHOTS, "runs-table-brushed")
    # a click on the axis clears its brush
    _brush(page, view, "metrics.acc", 0.5, 0.5)
    page.wait_for_function("document.querySelectorAll('.jp-mlops-brush').length === 0")
    assert _rows(view) == before
    for row in view.locator(".jp-mlops-grid-row").all()[1:3]:
        row.locator("input[type=checkbox]").check()
    view.locator(".jp-mlops-button", has_text="Compare (2)").click()
    compare = page.locator(".jp-mlops-compare-view")
    compare.locator("h2").wait_for(state="visible", timeout=30_000)
    assert compare.locator("h2").inner_text() == "Comparing 2 runs"
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_scatter_hover_names_the_run_and_click_opens_it(page: Any, lab: dict[str, Any]) -> None:
    view = _open_view(page, lab)
    canvas = view.locator(".jp-mlops-scatter canvas")
    box = canvas.bounding_box()
    tip = view.locator(".jp-mlops-plot-tip")
    for k in range(400):
        x = box["x"] + 50 + (k * 37) % max(1, int(box["width"]) - 60)
        y = box["y"] + 12 + (k * 23) % max(1, int(box["height"]) - 40)
        page.mouse.move(x, y)
        if tip.is_visible():
            break
    assert tip.is_visible(), "no point found under the mouse"
    name = tip.inner_text().split(" · ")[0]
    page.mouse.click(x, y)
    title = page.locator(".jp-mlops-detail .jp-mlops-run-title")
    title.wait_for(state="visible", timeout=20_000)
    assert title.inner_text() == name


def test_opens_from_sidebar_button_and_context_menu_in_dark_theme(
    page: Any, lab: dict[str, Any]
) -> None:
    _open_lab(page, lab)
    _pick_experiment(page, "table-demo")
    page.locator(".jp-mlops-open-table").click()
    view = page.locator(".jp-mlops-runs-view")
    view.locator(".jp-mlops-grid-row").first.wait_for(state="visible", timeout=30_000)
    page.locator(".jp-mlops-runs .jp-mlops-experiment").click(button="right")
    item = page.locator(".lm-Menu-item", has_text="MLOps: Runs table")
    item.wait_for(state="visible")
    item.click()
    assert page.locator(".jp-mlops-runs-view").count() == 1  # the same view, revealed
    _palette(page, "Use Theme: JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)  # the theme's stylesheet settles before the redraw is seen
    screenshot(page, SHOTS, "runs-table-dark")
    _palette(page, "Use Theme: JupyterLab Light")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")


@pytest.mark.skipif(not BIG_STORE, reason="set MLOPS_UI_TABLE_STORE to a big store to time it")
def test_reports_timings_on_the_big_store(page: Any, lab: dict[str, Any]) -> None:
    _open_lab(page, lab)
    _pick_experiment(page, "bench-panel")
    started = time.monotonic()
    page.locator(".jp-mlops-open-table").click()
    view = page.locator(".jp-mlops-runs-view").last
    view.locator(".jp-mlops-grid-row").first.wait_for(state="visible", timeout=120_000)
    shown = time.monotonic()
    _loaded(page)
    runs = _rows(view)
    big = f"big store ({runs:,} runs)"
    TIMINGS[f"{big}: Table click to rows shown"] = (shown - started) * 1000
    TIMINGS[f"{big}: Table click to every run loaded"] = (time.monotonic() - started) * 1000
    page.wait_for_function("document.querySelector('.jp-mlops-runs-view')?.dataset.firstPaintMs")
    TIMINGS[f"{big}: view created to first paint"] = float(
        view.get_attribute("data-first-paint-ms")
    )
    page.wait_for_function("document.querySelector('.jp-mlops-parcoords')?.dataset.drawMs")
    TIMINGS[f"{big}: parallel coordinates drawn"] = float(
        view.locator(".jp-mlops-parcoords").get_attribute("data-draw-ms")
    )
    view.locator(".jp-mlops-grid").evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    view.locator(".jp-mlops-grid-row").first.wait_for(state="visible")
    ms = page.evaluate(_ROUND_TRIP, ['.jp-mlops-grid-head [data-column="metrics.acc"]', 60_000])
    TIMINGS[f"{big}: sort by a metric, click to rows redrawn"] = ms
    ms = page.evaluate(_ROUND_TRIP, ['.jp-mlops-grid-head [data-column="params.seed"]', 60_000])
    TIMINGS[f"{big}: sort by a param, click to rows redrawn"] = ms
    box = view.locator(".jp-mlops-filter")
    box.fill("metrics.acc > 0.5")
    first, every = page.evaluate(_FILTER_TRIP, 60_000)
    TIMINGS[f"{big}: filter, Enter to first rows redrawn"] = first
    TIMINGS[f"{big}: filter, Enter to every matching run loaded"] = every
    assert 0 < _rows(view) < runs
    box.fill("")
    box.press("Enter")
    page.wait_for_function(
        f"document.querySelector('.jp-mlops-grid-body').style.height === '{runs * 26}px'"
    )
    _loaded(page)
    _brush(page, view, "metrics.acc", 0.02, 0.3)
    page.wait_for_function("document.querySelector('.jp-mlops-parcoords')?.dataset.brushMs")
    TIMINGS[f"{big}: brush, release to table and charts updated"] = float(
        view.locator(".jp-mlops-parcoords").get_attribute("data-brush-ms")
    )
    assert 0 < _rows(view) < runs
