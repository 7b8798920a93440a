"""Take the README's screenshot: the MLOps sidebar and the runs table in a real JupyterLab.

Fills a store by running the examples headless (``jupyter mlops run`` on three notebooks and
``jupyter mlops pipeline run`` on the example pipeline), starts ``jupyter lab`` on it on
127.0.0.1, opens it in headless Chromium at 1440x900, selects the pipeline's experiment in the
sidebar, opens the runs table and saves ``docs/images/lab-sidebar-runs-table.png``.

Usage::

    python docs/screenshot.py                   # a new store under build/docs-screenshot/
    python docs/screenshot.py --project DIR     # a project whose store the examples filled
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from examples import EXAMPLES, _project, _run

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the browser tests' Lab and Chromium helpers
from tests.ui.lab_server import chromium, lab_config, running_lab  # noqa: E402

IMAGE = DOCS / "images" / "lab-sidebar-runs-table.png"
EXPERIMENT = "wine-pipeline"


def fill() -> Path:
    """A project filled by the quickstart, data versioning, model registry and the pipeline."""
    by_name = {e.name: e for e in EXAMPLES}
    project = _project(by_name["pipeline"])
    for name in ("quickstart", "data_versioning", "model_registry"):
        _run(["run", by_name[name].path, "--quiet"], project)
    _run(["pipeline", "run", by_name["pipeline"].path, "--quiet"], project)
    return project


def shoot(url: str, image: Path) -> None:
    """Open Lab at ``url``, show the sidebar and the runs table, save ``image``."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        page.locator(".jp-LauncherCard").first.wait_for(state="visible", timeout=90_000)
        page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]').click()
        picker = page.locator(".jp-mlops-runs .jp-mlops-experiment")
        picker.locator("option", has_text=EXPERIMENT).wait_for(state="attached", timeout=60_000)
        picker.select_option(label=EXPERIMENT)
        page.locator(".jp-mlops-runs .jp-mlops-run").first.wait_for(timeout=60_000)
        # the pipeline's run unfolded in the sidebar too
        for toggle in page.locator(".jp-mlops-runs").get_by_text("▸").all():
            toggle.click()
        page.keyboard.press("Control+Shift+C")
        box = page.locator(".lm-CommandPalette-input")
        box.fill("MLOps: Runs table")
        page.locator(".lm-CommandPalette-item.lm-mod-active").wait_for()
        box.press("Enter")
        view = page.locator(".jp-mlops-runs-view")
        view.locator(".jp-mlops-grid-row").first.wait_for(state="visible", timeout=60_000)
        # the sweep's members unfolded, so the table shows the nesting
        for toggle in view.locator(".jp-mlops-toggle").all():
            if toggle.inner_text().strip() == "▸":
                toggle.click()
        # the scatter of two metrics (its default pair may hold a text param)
        against = view.locator(".jp-mlops-scatter-wrap select, select").last
        if against.locator("option", has_text="f1").count():
            against.select_option(label="f1")
        page.wait_for_timeout(1500)  # charts drawn, fonts settled
        image.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(image))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the README's JupyterLab screenshot.")
    parser.add_argument("--project", type=Path, help="a project the examples already filled")
    parser.add_argument("--output", type=Path, default=IMAGE)
    args = parser.parse_args(argv)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    project = args.project.resolve() if args.project else fill()
    with tempfile.TemporaryDirectory(prefix="mlops-shot-") as tmp:
        base = Path(tmp)
        with running_lab(base, project, lab_config(base)) as (url, token):
            shoot(f"{url}/lab?reset&token={token}", args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
