"""A real ``jupyter lab`` on 127.0.0.1 and headless Chromium, for the browser tests.

The fixtures built on these (``browser``, ``page`` and the pytest-jupyter opt-outs)
are in ``conftest.py``; what a Lab serves (store, notebooks) stays in each test file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jupyter_mlops.testing.processes import free_port, stop_group, wait_http

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: the environment variables a Lab under test never inherits (by prefix)
CLEAN_ENV = ("MLOPS_", "MLFLOW_")


def lab_config(base: Path) -> Path:
    """A ``JUPYTER_CONFIG_DIR`` under ``base`` with Lab's news notification turned off."""
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    return config


@contextlib.contextmanager
def running_lab(
    base: Path,
    root: Path,
    config: Path,
    *,
    ready: str = "/api/status",
    extra_args: Sequence[str] = (),
    clean_env: Sequence[str] = CLEAN_ENV,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """``jupyter lab`` serving ``root`` (``MLOPS_HOME``) with its state under ``base``.

    Yields ``(url, token)`` once ``url + ready`` answers; the log is ``base / "lab.log"``.
    """
    port, token = free_port(), secrets.token_hex(16)
    lab_env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(clean_env))}
    lab_env.update(
        MLOPS_HOME=str(root),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        **(env or {}),
    )
    with (base / "lab.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                *extra_args,
                f"--LabApp.user_settings_dir={base / 'settings'}",
                f"--LabApp.workspaces_dir={base / 'workspaces'}",
            ],
            env=lab_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}{ready}?token={token}", proc, log=lambda: _tail(base / "lab.log"))
            yield url, token
        finally:
            stop_group(proc)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system one) through Playwright."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, folder: Path, name: str, *, full_page: bool = False) -> Path:
    """Save ``folder/name.png`` (the folder is made if missing) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.contextmanager
def mlops_lab(
    tmp_path_factory: Any,
    built: Path,
    fill: Callable[[Path], T],
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str, T, Path]]:
    """A Lab serving the built labextension ``built`` and the REST extension over a new project.

    ``fill(root)`` writes the project's store and files before Lab starts. The server
    extension is enabled by the very file the wheel installs; Lab's own environment
    variables are not inherited; ``env`` adds variables of its own. Skips when the
    labextension is not built. Yields ``(url, token, fill's result, base folder)``.
    """
    import pytest

    if not (built / "package.json").is_file():
        pytest.skip("labextension not built: run `make labextension`")
    base = tmp_path_factory.mktemp("lab")
    root = base / "project"
    (root / ".mlops").mkdir(parents=True)
    filled = fill(root)
    repo = Path(__file__).resolve().parents[2]
    extensions = base / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-mlops").symlink_to(built, target_is_directory=True)
    config = lab_config(base)
    (config / "jupyter_server_config.d").mkdir()
    source = repo / "jupyter-config" / "server-config" / "jupyter_mlops.json"
    (config / "jupyter_server_config.d" / source.name).write_bytes(source.read_bytes())
    with running_lab(
        base,
        root,
        config,
        ready="/mlops/api/v1/status",
        extra_args=[f"--LabApp.extra_labextensions_path={extensions}"],
        clean_env=(*CLEAN_ENV, "JUPYTER"),
        env={"JUPYTER_DATA_DIR": str(base / "data"), **(env or {})},
    ) as (url, token):
        yield url, token, filled, base
