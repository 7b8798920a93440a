"""``%mlops panel`` in a real JupyterLab and kernel, driven through headless Chromium.

A ``jupyter lab`` on 127.0.0.1 with a token opens a notebook whose cells load the
extension and show the panel; the test clicks a run, checks the detail, that a
run named like an HTML tag shows literally and fires nothing, and saves a
screenshot in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import secrets
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

CHROMIUM = "/usr/bin/chromium"
XSS = "<img src=x onerror=alert(1)>"
ARGS = [
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
    # pytest-jupyter would close Playwright's event loop after the test: opt out
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield None


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(root: Path) -> dict[str, str]:
    from jupyter_mlops.config import load_settings
    from jupyter_mlops.tracking.store import open_client

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
    cells = ["%load_ext jupyter_mlops", "%mlops panel --experiment ui-panel --no-live"]
    nb = {
        "cells": [
            {
                "id": f"cell-{n}",
                "cell_type": "code",
                "metadata": {},
                "source": s,
                "outputs": [],
                "execution_count": None,
            }
            for n, s in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "panel.ipynb").write_text(json.dumps(nb))


def _wait_http(url: str, proc: subprocess.Popen[bytes], deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {deadline} s")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path / "project"
    (root / ".mlops").mkdir(parents=True)
    ids = _fill(root)
    _notebook(root)
    config = tmp_path / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port, token = _port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    env.update(
        MLOPS_HOME=str(root),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/api/status?token={token}", proc)
        yield {"url": url, "token": token, "ids": ids, "tmp": tmp_path}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.dialogs = []  # type: ignore[attr-defined]
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            yield page
        finally:
            browser.close()


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
        page.screenshot(path=str(lab["tmp"] / "failed.png"), full_page=True)
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
    assert page.locator('.jp-OutputArea img[src="x"]').count() == 0
    shot = lab["tmp"] / "panel.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.dialogs == []  # type: ignore[attr-defined]
