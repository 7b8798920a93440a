"""``%mlops panel`` in a real JupyterLab and kernel, driven through headless Chromium.

A ``jupyter lab`` on 127.0.0.1 with a token opens a notebook whose cells load the
extension and show the panel; the test clicks a run, checks the detail, that a
run named like an HTML tag shows literally and fires nothing, and saves a
screenshot in the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.testing.notebooks import code, write_notebook
from tests.ui.lab_server import lab_config, running_lab, screenshot

pytestmark = pytest.mark.ui

XSS = "<img src=x onerror=alert(1)>"


def _fill(root: Path) -> dict[str, str]:
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    client = open_client(load_settings(home=str(root)))
    exp = client.create_experiment("ui-panel", (root / ".mlops" / "artifacts").as_uri())
    ids = {}
    for name, acc in (("baseline", 0.71), ("tuned", 0.83), (XSS, 0.5)):
        rid = client.create_run(exp, run_name=name).info.run_id
        client.log_param(rid, "model", "<b>rf</b>")
        for step in range(5):
            client.log_metric(rid, "acc", acc - 0.1 / (step + 1), step=step)
        client.set_terminated(rid)
        ids[name] = rid
    return ids


def _notebook(root: Path) -> None:
    cells = [code("%load_ext jupyter_mlops"), code("%mlops panel --experiment ui-panel --no-live")]
    write_notebook(root / "panel.ipynb", cells)


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1400, "height": 1000}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path / "project"
    (root / ".mlops").mkdir(parents=True)
    ids = _fill(root)
    _notebook(root)
    with running_lab(tmp_path, root, lab_config(tmp_path)) as (url, token):
        yield {"url": url, "token": token, "ids": ids, "tmp": tmp_path}


def test_panel_renders_in_jupyterlab_and_a_click_shows_the_run(page: Any, lab: dict[str, Any]):
    page.goto(f"{lab['url']}/lab/tree/panel.ipynb?reset&token={lab['token']}")
    page.locator(".jp-Notebook").wait_for(state="visible", timeout=60_000)
    choose = page.locator(".jp-Dialog button", has_text="Select")
    try:  # Lab may ask which kernel to use even though the notebook names one
        choose.wait_for(state="visible", timeout=10_000)
        choose.click()
    except Exception:
        pass
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

    tuned = page.locator("button.jupyter-button", has_text="tuned")
    try:
        tuned.wait_for(state="visible", timeout=90_000)
    except Exception:  # keep what the page showed: the cell's output says why
        screenshot(page, lab["tmp"], "failed", full_page=True)
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        raise AssertionError(f"panel not shown; outputs: {outputs}") from None
    assert page.locator(".jupyter-widget-tab, .widget-tab").count() >= 1
    for title in ("Runs", "Compare", "Models", "Data"):
        assert page.get_by_text(title, exact=True).count() >= 1

    tuned.click()
    run_id = lab["ids"]["tuned"]
    page.get_by_text(run_id).first.wait_for(state="visible", timeout=30_000)
    assert page.get_by_text("<b>rf</b>").count() >= 1  # param shown as text, not bold markup
    assert page.locator("button.jupyter-button", has_text=XSS).count() == 1
    # Column headers show their whole name; run names read as links, not buttons.
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.widget-gridbox button.jupyter-button')]
          .filter(b => !b.classList.contains('jp-mlops-run-link') && b.scrollWidth > b.clientWidth)
          .map(b => b.textContent)"""
    )
    assert cut == []
    link = page.locator("button.jp-mlops-run-link", has_text="tuned")
    background = link.evaluate("b => getComputedStyle(b).backgroundColor")
    assert background in ("transparent", "rgba(0, 0, 0, 0)"), background
    assert page.locator('.jp-OutputArea img[src="x"]').count() == 0
    shot = screenshot(page, lab["tmp"], "panel", full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.dialogs == []  # type: ignore[attr-defined]
