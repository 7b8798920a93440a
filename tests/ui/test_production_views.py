"""The production views in a real JupyterLab at 1440×900: the Models list and Promote
dialog, each model's live performance charts from the prediction log, and schedules on
triggers from the notebook toolbar.

One real ``jupyter lab`` serves a store with model ``churn`` (version 1 the
``production`` champion, version 2 the ``candidate`` challenger, both in the prediction
log with labels), a snapshot ``customers`` and a notebook to schedule. Screenshots land
in ``build/ui-screenshots/`` (``production-*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.testing.notebooks import code, params, write_notebook
from tests.ui.lab_server import mlops_lab, screenshot
from tests.ui.test_readable_ui import _set_theme

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "src" / "jupyter_mlops" / "labextension"
SHOTS = REPO / "build" / "ui-screenshots"
XSS = "<img src=x onerror=alert(1)>"
#: per version: predictions logged, labelled, of which right
TRAFFIC = {"1": (40, 30, 21), "2": (20, 10, 9)}


def _fill(root: Path) -> dict[str, Any]:
    import pandas as pd

    from jupyter_mlops.config import load_settings
    from jupyter_mlops.data.api import snapshot
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    settings = load_settings(home=str(root))
    client = open_client(settings)
    exp = client.create_experiment("churn-train", (root / ".mlops" / "artifacts").as_uri())
    for version, acc in (("1", 0.81), ("2", 0.86)):
        rid = client.create_run(exp, run_name=f"train-{version}").info.run_id
        for key in ("accuracy", "f1_macro", "precision_macro", "recall_macro"):
            client.log_metric(rid, key, acc)
        client.set_terminated(rid)
        if version == "1":
            client.create_registered_model("churn")
        client.create_model_version("churn", f"runs:/{rid}/model", rid)
    client.set_registered_model_alias("churn", "production", "1")
    client.set_registered_model_alias("churn", "candidate", "2")
    _log_traffic(settings)
    snapshot(pd.DataFrame({"x": range(5)}), "customers", store=str(root / ".mlops" / "data"))
    write_notebook(
        root / "score.ipynb",
        [params("threshold = 0.5"), code("print('scored at', threshold)")],
    )
    return {"settings": settings}


def _log_traffic(settings: Any) -> None:
    """Predictions of both versions over two hours, some labelled, as ``serve`` leaves them."""
    import time

    from jupyter_mlops.models.prediction_log import CHALLENGER, CHAMPION, new_ids, open_log

    log = open_log("churn", settings=settings)
    start = time.time() - 2 * 3600
    try:
        for version, (served, labelled, right) in TRAFFIC.items():
            role = CHAMPION if version == "1" else CHALLENGER
            ids = new_ids(served)
            for k in range(4):  # a quarter of the traffic each half hour
                part = slice(k * served // 4, (k + 1) * served // 4)
                log.append(
                    version, role, ids[part], None, [1] * len(ids[part]), at=start + k * 1800
                )
            labels = [1] * right + [0] * (labelled - right)
            log.add_labels(ids[:labelled], labels)
    finally:
        log.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with mlops_lab(tmp_path_factory, BUILT, _fill) as (url, token, filled, base):
        yield {"url": url, "token": token, "root": base / "project", **filled}


def _open_tab(page: Any, lab: dict[str, Any], label: str) -> Any:
    page.goto(f"{lab['url']}/lab?reset&token={lab['token']}")
    tab = page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]')
    tab.wait_for(state="visible", timeout=60_000)
    tab.click()
    page.locator(".jp-mlops-tabs .lm-TabBar-tab", has_text=label).click()
    return page.locator("#jp-mlops-sidebar")


def _dialog_problem(page: Any) -> str:
    """The reason shown at the top of the dialog that came back after an error."""
    problem = page.locator(".jp-Dialog [role=alert]")
    problem.wait_for(state="visible", timeout=30_000)
    return str(problem.inner_text())


def test_the_models_list_fits_the_sidebar_and_promote_keeps_what_was_typed(
    page: Any, lab: dict[str, Any]
) -> None:
    sidebar = _open_tab(page, lab, "Models")
    rows = sidebar.locator(".jp-mlops-model-version")
    rows.first.wait_for(state="visible", timeout=30_000)
    assert rows.count() == 2
    edge = sidebar.bounding_box()
    for button in sidebar.locator(".jp-mlops-promote, .jp-mlops-card-open").all():
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= edge["x"] + edge["width"], box
        assert button.evaluate("b => b.scrollWidth <= b.clientWidth")
    assert "accuracy 0.8600" in rows.first.inner_text()
    screenshot(page, SHOTS, "production-models-list")

    version = sidebar.locator('.jp-mlops-model-version[data-version="2"]')
    version.locator(".jp-mlops-promote").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-mlops-alias").fill("production")
    dialog.locator(".jp-mlops-gates-input").fill("accuracy>=0.8\nf1_macro")
    dialog.locator(".jp-mod-accept").click()
    # The server refused the gate line: the dialog is back, as it was left, saying why.
    assert "f1_macro" in _dialog_problem(page)
    assert dialog.locator(".jp-mlops-alias").input_value() == "production"
    assert dialog.locator(".jp-mlops-gates-input").input_value() == "accuracy>=0.8\nf1_macro"
    dialog.locator(".jp-mlops-beat").fill("production")
    dialog.locator(".jp-mlops-gates-input").fill("accuracy>=0.8")
    dialog.locator(".jp-mod-accept").click()
    # A field left empty is said in the form's words, the others stay.
    assert '"on"' in _dialog_problem(page)
    assert dialog.locator(".jp-mlops-beat").input_value() == "production"
    screenshot(page, SHOTS, "production-promote-kept")
    dialog.locator(".jp-mod-reject").click()
    dialog.wait_for(state="detached")
    assert version.locator(".jp-mlops-aliases").inner_text() == "candidate"
    # Opened again, the dialog still holds what was typed: nothing was promoted.
    version.locator(".jp-mlops-promote").click()
    assert page.locator(".jp-Dialog .jp-mlops-beat").input_value() == "production"
    page.locator(".jp-Dialog .jp-mod-reject").click()
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_schedule_on_a_new_snapshot_from_the_toolbar(page: Any, lab: dict[str, Any]) -> None:
    page.goto(f"{lab['url']}/lab/tree/score.ipynb?reset&token={lab['token']}")
    button = page.locator(".jp-mlops-schedule-button")
    button.wait_for(state="visible", timeout=60_000)
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('input[name="threshold"]').wait_for(state="visible", timeout=20_000)
    assert dialog.locator('input[name="schedule-subject"]').is_hidden()
    dialog.locator('select[name="schedule-kind"]').select_option("snapshot")
    assert dialog.locator('input[name="schedule-cron"]').is_hidden()
    subject = dialog.locator('input[name="schedule-subject"]')
    offered = dialog.locator("datalist option").evaluate_all("os => os.map(o => o.value)")
    assert offered == ["customers"]
    subject.fill(XSS)
    dialog.locator('input[name="threshold"]').fill("0.7")
    dialog.locator(".jp-mod-accept").click()
    # Checked by the server: one line naming the snapshots there are; nothing typed is lost.
    problem = _dialog_problem(page)
    assert "no snapshot of that name" in problem and "customers" in problem, problem
    assert problem.startswith("Snapshot ") and "--" not in problem  # the form's words
    assert page.locator(".jp-Dialog img").count() == 0
    assert subject.input_value() == XSS
    assert dialog.locator('select[name="schedule-kind"]').input_value() == "snapshot"
    assert dialog.locator('input[name="threshold"]').input_value() == "0.7"
    subject.fill("customers")
    screenshot(page, SHOTS, "production-schedule-trigger-dialog")
    dialog.locator(".jp-mod-accept").click()

    card = page.locator('.jp-mlops-schedule[data-name="score"]')
    card.wait_for(state="visible", timeout=30_000)
    when = card.locator(".jp-mlops-schedule-when")
    assert when.inner_text() == "when a new version of snapshot customers is written"
    assert when.get_attribute("title") == "snapshot:customers"
    assert card.locator(".jp-mlops-schedule-next").inner_text() == "next: at the next event"
    screenshot(page, SHOTS, "production-schedules-tab")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_models_live_performance_charts_champion_beside_challenger(
    page: Any, lab: dict[str, Any]
) -> None:
    sidebar = _open_tab(page, lab, "Models")
    sidebar.locator(".jp-mlops-model-name", has_text="churn").first.click()
    sidebar.locator(".jp-mlops-performance-open").click()
    view = page.locator(".jp-mlops-performance-view[data-ready=true]")
    view.wait_for(state="visible", timeout=30_000)
    rows = view.locator(".jp-mlops-performance-row")
    assert rows.count() == 2
    by_role = {r.get_attribute("data-role"): r.locator("td").all_inner_texts() for r in rows.all()}
    for role, version in (("champion", "1"), ("challenger", "2")):
        served, labelled, right = TRAFFIC[version]
        cells = by_role[role]
        assert cells[:5] == [
            version, role, str(served), str(labelled), f"{round(100 * labelled / served)}%",
        ], cells  # fmt: skip
        assert float(cells[5]) == pytest.approx(right / labelled, abs=1e-4)  # accuracy
    charts = view.locator(".jp-mlops-chart")
    titles = charts.locator("figcaption").all_inner_texts()
    assert titles == ["accuracy (labelled predictions)", "label coverage (%)", "requests"]
    for chart in charts.all():  # a line per version and role
        assert chart.locator("path.jp-mlops-series").count() == 2
    assert view.locator(".jp-mlops-legend-item").all_inner_texts() == [
        "v1 champion", "v2 challenger",
    ]  # fmt: skip
    screenshot(page, SHOTS, "production-performance")
    _set_theme(page, "JupyterLab Dark")
    try:
        view.locator("path.jp-mlops-series").first.wait_for(state="visible")
        screenshot(page, SHOTS, "production-performance-dark")
    finally:
        _set_theme(page, "JupyterLab Light")
    assert page.dialogs == []  # type: ignore[attr-defined]
