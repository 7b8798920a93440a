"""Schedules in a real JupyterLab: the toolbar dialog, the Schedules tab, run now, the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.testing.notebooks import code, params, write_notebook
from tests.ui.lab_server import mlops_lab, screenshot

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "src" / "jupyter_mlops" / "labextension"
SHOTS = REPO / "build" / "ui-screenshots"


def _fill(root: Path) -> Path:
    cells = [
        params("lr = 0.1  # learning rate"),
        code("import jupyter_mlops as mlops\nmlops.log(score=lr * 10)"),
    ]
    write_notebook(root / "train.ipynb", cells)
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with mlops_lab(tmp_path_factory, BUILT, _fill) as (url, token, root, _):
        yield {"url": url, "token": token, "root": root}


def test_schedule_from_the_toolbar_then_run_now_and_open_the_run(
    page: Any, lab: dict[str, Any]
) -> None:
    page.goto(f"{lab['url']}/lab/tree/train.ipynb?reset&token={lab['token']}")
    button = page.locator(".jp-mlops-schedule-button")
    button.wait_for(state="visible", timeout=60_000)
    button.click()
    dialog = page.locator(".jp-Dialog")
    lr = dialog.locator('input[name="lr"]')
    lr.wait_for(state="visible", timeout=20_000)
    assert lr.input_value() == "0.1"  # the Run headless form, from the parameters cell
    assert dialog.locator('input[name="schedule-name"]').input_value() == "train"
    preview = dialog.locator(".jp-mlops-cron-preview")
    preview.locator(".jp-mlops-ok").wait_for(timeout=20_000)
    assert preview.inner_text().startswith("At 03:00 (UTC); next: ")
    cron = dialog.locator('input[name="schedule-cron"]')
    cron.fill("0 25 * * *")
    preview.locator(".jp-mlops-error", has_text="the hour field '25' is not valid").wait_for(
        timeout=20_000
    )
    cron.fill("*/15 9-17 * * mon-fri")
    preview.locator(".jp-mlops-ok", has_text="Every 15 minutes").wait_for(timeout=20_000)
    assert "Monday through Friday" in preview.inner_text()
    lr.fill("0.5")
    screenshot(page, SHOTS, "schedule-dialog")
    dialog.locator(".jp-mod-accept").click()

    row = page.locator('.jp-mlops-schedule[data-name="train"]')
    row.wait_for(state="visible", timeout=30_000)
    assert "Every 15 minutes" in row.locator(".jp-mlops-schedule-when").inner_text()
    assert "No scheduler runs in this server" in page.locator(".jp-mlops-schedules").inner_text()
    row.locator(".jp-mlops-run-now").click()
    finished = page.locator(".jp-mlops-schedule-run:has(.jp-mlops-badge-finished)")
    finished.wait_for(state="visible", timeout=180_000)
    assert "(manual)" in finished.inner_text()
    screenshot(page, SHOTS, "schedules-tab")
    run_id = finished.get_attribute("data-run")
    finished.click()
    detail = page.locator(".jp-mlops-detail")
    detail.locator(".jp-mlops-run-title").wait_for(state="visible", timeout=30_000)
    text = detail.inner_text()
    assert run_id in text and "lr\t0.5" in text and "score\t5" in text

    row.locator(".jp-mlops-pause").click()
    page.locator('.jp-mlops-schedule[data-paused="true"]').wait_for(timeout=20_000)
    assert page.dialogs == []  # type: ignore[attr-defined]
