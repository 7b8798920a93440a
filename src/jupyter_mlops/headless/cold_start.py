"""A headless run in a cold process: nothing waits on work it can overlap.

A first ``jupyter mlops run`` (no warm worker yet) spends most of its time on
three things that do not depend on each other: importing MLflow and creating the
run, starting the kernel, and loading nbconvert for the HTML rendering. Done one
after the other they add up; here the kernel boots in its own process first,
while this one checks the run's parameters and creates the run (the run's
variables are set in the kernel afterwards, as the warm worker does with its
spare kernels), and a thread imports papermill, then loads nbconvert and renders
once. The kernel is shut down while the outcome is logged. On the embedded store
the run is written without importing MLflow at all (``tracking.mlflow_tables.run_writes``).

What is recorded, printed and returned is exactly what
:func:`~.execution.execute_notebook` gives.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Settings, load_settings
from ..tracking.mlflow_bridge.store import apply_mlflow_defaults
from .execution import HeadlessResult, execute_notebook, kernel_env
from .kernel_pool import KernelPool
from .parameters import load_notebook_json
from .progress import ProgressCallback
from .recording import warm_renderer

__all__ = ["execute_cold"]


def execute_cold(
    path: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> HeadlessResult:
    """:func:`~.execution.execute_notebook`, with the kernel started before MLflow loads.

    Takes the same arguments (``options`` are passed on). The kernel boots while the
    run is checked; a refused run shuts it down and leaves nothing behind.
    """
    pool = KernelPool()
    outputs: Path | None = None
    had_outputs = True
    with contextlib.suppress(Exception):
        notebook = Path(path).expanduser().resolve()
        settings = load_settings(notebook.parent)
        outputs = settings.store_dir / "outputs"  # the early kernel's log waits there
        had_outputs = outputs.exists()
        _start_kernel_early(pool, notebook, settings, kernel_name, cwd)
    threading.Thread(target=_warm_up, name="mlops-warm-up", daemon=True).start()
    try:
        return execute_notebook(
            path,
            params,
            kernel_name=kernel_name,
            cwd=cwd,
            progress=progress,
            kernels=pool,
            **options,
        )
    finally:
        pool.close()  # shuts down a kernel no run took (a refused parameter, say)
        if not had_outputs and outputs is not None:
            with contextlib.suppress(OSError):  # the early kernel made it; no run wrote to it
                outputs.rmdir()


def _warm_up() -> None:
    """Import papermill, then load nbconvert and render once, while the kernel boots."""
    with contextlib.suppress(Exception):
        import papermill.engines  # noqa: F401
    warm_renderer()


def _start_kernel_early(
    pool: KernelPool,
    notebook: Path,
    settings: Settings,
    kernel_name: str | None,
    cwd: str | os.PathLike[str] | None,
) -> None:
    """Boot the kernel the run will ask for: same name, folder and environment.

    Only what the kernel needs is read here; the checks of a run (parameters,
    kernel installed) run in :func:`~.plan.prepare` while the kernel boots.
    """
    spec = load_notebook_json(notebook).get("metadata", {}).get("kernelspec", {}) or {}
    name = kernel_name or spec.get("name")
    folder = Path(cwd).expanduser().resolve() if cwd else notebook.parent
    if not name or not folder.is_dir():
        return
    apply_mlflow_defaults(settings.tracking_uri)
    pool.expect(name, kernel_env(settings, "", notebook, None), str(folder))
