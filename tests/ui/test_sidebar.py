"""The MLOps sidebar in a real JupyterLab, driven through headless Chromium.

A real ``jupyter lab`` (127.0.0.1, token auth) serves the built labextension and
the REST extension over an embedded store filled with MLflow's own client.
Screenshots land in ``build/ui-screenshots/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "src" / "jupyter_mlops" / "labextension"
SHOTS = REPO / "build" / "ui-screenshots"
CHROMIUM = "/usr/bin/chromium"
XSS_NAME = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    # pytest-jupyter (loaded by the REST tests) closes the current loop after each
    # test; here that would be Playwright's own loop, so opt this module out.
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill_store(root: Path) -> dict[str, str]:
    from mlflow import MlflowClient

    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.store import open_client

    client: MlflowClient = open_client(load_settings(home=str(root)))
    exp = client.create_experiment(
        "ui-demo", artifact_location=(root / ".mlops" / "artifacts").as_uri()
    )
    ids = {}
    for name, lr, acc in (
        ("baseline", "0.1", 0.71),
        ("tuned", "0.01", 0.83),
        (XSS_NAME, "<b>x</b>", 0.5),
    ):
        run = client.create_run(exp, run_name=name)
        rid = run.info.run_id
        client.log_param(rid, "lr", lr)
        client.log_param(rid, "model", "rf")
        for step in range(6):
            client.log_metric(rid, "loss", (1 - acc) + 1 / (step + 2), step=step)
        client.log_metric(rid, "acc", acc)
        client.set_tag(rid, "note", "<script>alert(2)</script>")
        client.set_terminated(rid)
        ids[name] = rid
    client.create_registered_model("churn")
    tuned = ids["tuned"]
    client.create_model_version("churn", f"runs:/{tuned}/model", tuned)
    _notebook(root / "train.ipynb")
    _live_notebook(root / "live.ipynb")
    return ids


def _live_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_mlops"),
        nbformat.v4.new_code_cell("%mlops experiment live\n%mlops start --name live-run"),
        nbformat.v4.new_code_cell("%mlops log acc=0.42"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def _notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("lr = 0.1  # learning rate\nepochs = 2")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("score = lr * epochs\nprint('score', score)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def _wait_http(url: str, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {deadline_s} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (BUILT / "package.json").is_file():
        pytest.skip("labextension not built: run `make labextension`")
    base = tmp_path_factory.mktemp("lab")
    root = base / "project"
    (root / ".mlops").mkdir(parents=True)
    ids = _fill_store(root)
    extensions = base / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-mlops").symlink_to(BUILT, target_is_directory=True)
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    # The server extension is enabled by the very file the wheel installs.
    (config / "jupyter_server_config.d").mkdir()
    shutil.copy(
        REPO / "jupyter-config" / "server-config" / "jupyter_mlops.json",
        config / "jupyter_server_config.d",
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_", "JUPYTER"))
    }
    env.update(
        MLOPS_HOME=str(root),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTER_DATA_DIR=str(base / "data"),
    )
    log = (base / "lab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.extra_labextensions_path={extensions}",
            f"--LabApp.user_settings_dir={base / 'settings'}",
            f"--LabApp.workspaces_dir={base / 'workspaces'}",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/mlops/api/v1/status?token={token}", 60, proc)
        yield {"url": url, "token": token, "ids": ids, "log": base / "lab.log"}
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, lab: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    try:
        yield page
    finally:
        context.close()


def _open_sidebar(page: Any, lab: dict[str, Any]) -> float:
    """Open Lab and the MLOps tab; return seconds from Lab interactive to runs shown."""
    page.goto(f"{lab['url']}/lab?reset&token={lab['token']}")
    tab = page.locator('.jp-SideBar [data-id="jp-mlops-sidebar"]')
    tab.wait_for(state="visible", timeout=60_000)
    started = time.monotonic()
    tab.click()
    page.locator(".jp-mlops-run").first.wait_for(state="visible", timeout=30_000)
    return time.monotonic() - started


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_sidebar_lists_runs_and_renders_user_text_literally(page: Any, lab: dict[str, Any]) -> None:
    seconds = _open_sidebar(page, lab)
    print(f"\nsidebar populated {seconds:.2f} s after Lab was interactive")
    names = page.locator(".jp-mlops-run .jp-mlops-run-name").all_inner_texts()
    assert sorted(names) == sorted(["baseline", "tuned", XSS_NAME])
    assert page.locator('.jp-mlops-runs img[src="x"]').count() == 0
    assert page.locator(".jp-mlops-experiment option:checked").inner_text() == "ui-demo"
    badges = page.locator(".jp-mlops-run .jp-mlops-badge").all_inner_texts()
    assert badges == ["FINISHED"] * 3
    _shot(page, "sidebar-runs")
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_filter_and_sort_by_metric(page: Any, lab: dict[str, Any]) -> None:
    _open_sidebar(page, lab)
    page.locator(".jp-mlops-filter").fill("metrics.acc > 0.6")
    page.locator(".jp-mlops-filter").press("Enter")
    rows = page.locator(".jp-mlops-run .jp-mlops-run-name")
    page.wait_for_function("document.querySelectorAll('.jp-mlops-run').length === 2")
    assert sorted(rows.all_inner_texts()) == ["baseline", "tuned"]
    page.locator(".jp-mlops-sortable", has_text="acc").click()
    page.wait_for_function(
        "document.querySelector('.jp-mlops-run .jp-mlops-run-name')?.textContent === 'tuned'"
    )
    page.locator(".jp-mlops-sortable", has_text="acc").click()
    page.wait_for_function(
        "document.querySelector('.jp-mlops-run .jp-mlops-run-name')?.textContent === 'baseline'"
    )


def test_run_detail_tab_and_compare(page: Any, lab: dict[str, Any]) -> None:
    _open_sidebar(page, lab)
    page.locator(".jp-mlops-run", has_text=XSS_NAME).click()
    detail = page.locator(".jp-mlops-detail")
    detail.locator(".jp-mlops-run-title").wait_for(state="visible", timeout=20_000)
    assert detail.locator(".jp-mlops-run-title").inner_text() == XSS_NAME
    assert "<b>x</b>" in detail.locator(".jp-mlops-kv").first.inner_text()
    assert detail.locator("b").count() == 0 and detail.locator("script").count() == 0
    assert detail.locator(".jp-mlops-chart", has_text="loss").count() == 1
    _shot(page, "run-detail")

    for name in ("baseline", "tuned"):
        page.locator(".jp-mlops-run", has_text=name).locator("input[type=checkbox]").check()
    page.locator(".jp-mlops-compare").click()
    view = page.locator(".jp-mlops-compare-view")
    view.locator("table").wait_for(state="visible", timeout=20_000)
    differing = view.locator("tr.jp-mlops-diff").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    assert "lr" in differing and "acc" in differing
    assert "model" not in differing
    assert view.locator(".jp-mlops-chart .jp-mlops-legend-item").count() >= 2
    _shot(page, "compare")
    assert page.dialogs == []  # type: ignore[attr-defined]


def _open_tab(page: Any, label: str) -> None:
    page.locator(".jp-mlops-tabs .lm-TabBar-tab", has_text=label).click()


def _promote(page: Any, gate: str) -> None:
    page.locator('.jp-mlops-model-version[data-model="churn"] .jp-mlops-promote').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-mlops-alias").fill("production")
    dialog.locator(".jp-mlops-gates-input").fill(gate)
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached")


def test_promote_through_failing_then_passing_gate(page: Any, lab: dict[str, Any]) -> None:
    _open_sidebar(page, lab)
    _open_tab(page, "Models")
    row = page.locator('.jp-mlops-model-version[data-model="churn"]')
    row.wait_for(state="visible", timeout=20_000)
    _promote(page, "acc>=0.9")
    page.locator(".jp-mlops-models .jp-mlops-error").wait_for(state="visible", timeout=20_000)
    assert "FAIL" in page.locator(".jp-mlops-gates .jp-mlops-fail").inner_text()
    assert row.locator(".jp-mlops-aliases").inner_text() == ""
    _shot(page, "promote-refused")
    _promote(page, "acc>=0.8")
    page.locator(".jp-mlops-models .jp-mlops-ok").wait_for(state="visible", timeout=20_000)
    page.wait_for_function(
        "document.querySelector('.jp-mlops-model-version .jp-mlops-aliases')"
        "?.textContent === 'production'"
    )
    _shot(page, "promote-passed")


def test_run_headless_from_the_notebook_toolbar(page: Any, lab: dict[str, Any]) -> None:
    page.goto(f"{lab['url']}/lab/tree/train.ipynb?reset&token={lab['token']}")
    button = page.locator(".jp-mlops-run-headless")
    button.wait_for(state="visible", timeout=60_000)
    button.click()
    dialog = page.locator(".jp-Dialog")
    lr = dialog.locator('input[name="lr"]')
    lr.wait_for(state="visible", timeout=20_000)
    assert lr.input_value() == "0.1"
    assert dialog.locator('input[name="epochs"]').input_value() == "2"
    lr.fill("0.5")
    dialog.locator(".jp-mod-accept").click()
    row = page.locator(".jp-mlops-headless-run")
    row.wait_for(state="visible", timeout=30_000)
    page.locator('.jp-mlops-headless-run[data-status="FINISHED"]').wait_for(timeout=180_000)
    opened = page.locator(".lm-TabBar-tab", has_text="(read-only)")
    opened.wait_for(state="visible", timeout=30_000)
    _shot(page, "headless-finished")
    # The run the notebook logged shows in the Runs view, with the parameter given.
    _open_tab(page, "Runs")
    page.locator(".jp-mlops-experiment").select_option(label="train")
    page.locator(".jp-mlops-run").first.wait_for(state="visible", timeout=30_000)
    assert "0.5" in page.locator(".jp-mlops-run").first.inner_text()
    assert page.dialogs == []  # type: ignore[attr-defined]


def _run_all_cells(page: Any) -> None:
    """Run every cell, answering Lab's kernel picker when it shows (it does not always)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".jp-Notebook-ExecutionIndicator, .jp-KernelStatus").first.wait_for(
        state="attached", timeout=30_000
    )
    for _ in range(3):
        picker = page.locator(".jp-Dialog", has_text="Select Kernel")
        try:
            picker.wait_for(state="visible", timeout=5_000)
            picker.locator(".jp-mod-accept").click()
            picker.wait_for(state="detached")
        except PlaywrightTimeout:
            pass
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.locator(".jp-InputArea-prompt", has_text="[1]").first.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            continue


def test_status_bar_shows_the_notebook_run_and_sidebar_lists_it(
    page: Any, lab: dict[str, Any]
) -> None:
    page.goto(f"{lab['url']}/lab/tree/live.ipynb?reset&token={lab['token']}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=60_000)
    page.locator(".jp-mlops-statusbar").wait_for(state="attached", timeout=30_000)
    run = page.locator(".jp-mlops-statusbar-run")
    try:
        _run_all_cells(page)
        run.wait_for(state="visible", timeout=90_000)
    finally:
        _shot(page, "status-bar")
    assert run.inner_text() == "live-run"
    run.click()
    title = page.locator(".jp-mlops-detail .jp-mlops-run-title")
    title.wait_for(state="visible", timeout=20_000)
    assert title.inner_text() == "live-run"
    page.locator(".jp-mlops-detail .jp-mlops-kv", has_text="acc").first.wait_for(timeout=30_000)
