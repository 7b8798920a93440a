"""A headless run in a cold process: nothing waits on work it can overlap.

A first ``jupyter mlops run`` (no warm worker yet) spends most of its time on
three things that do not depend on each other: importing MLflow and creating the
run, starting the kernel, and loading nbconvert for the HTML rendering. Done one
after the other they add up; here the kernel boots in its own process while this
one imports MLflow and creates the run (the run's variables are set in the
kernel afterwards, as the warm worker does with its spare kernels), and
nbconvert loads on a thread once the notebook is executing.

What is recorded, printed and returned is exactly what
:func:`~.execution.execute_notebook` gives.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from typing import Any

from ..config import load_settings
from ..tracking.store import apply_mlflow_defaults
from .execution import HeadlessResult, execute_notebook, kernel_env
from .kernel_pool import KernelPool
from .plan import Plan, prepare
from .progress import Progress, ProgressCallback

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

    Takes the same arguments (``options`` are passed on). Everything that can be
    refused is checked first, so a refused run leaves nothing behind.
    """
    plan = prepare(path, params, kernel_name, cwd, options.get("output_path"))
    pool = KernelPool()
    with contextlib.suppress(Exception):
        _start_kernel_early(pool, plan)
    try:
        return execute_notebook(
            path,
            params,
            kernel_name=kernel_name,
            cwd=cwd,
            progress=_warming_renderer(progress),
            kernels=pool,
            **options,
        )
    finally:
        pool.close()  # shuts down a kernel no run took


def _start_kernel_early(pool: KernelPool, plan: Plan) -> None:
    """Boot the kernel the run will ask for: same name, folder and environment."""
    settings = load_settings(plan.notebook.parent)
    apply_mlflow_defaults(settings.tracking_uri)
    env = kernel_env(settings, "", plan.notebook, None)
    pool.expect(plan.kernel_name, env, str(plan.cwd))


def _warming_renderer(progress: ProgressCallback | None) -> ProgressCallback:
    """Pass events on; when the first cell starts, load nbconvert on a thread."""
    started = threading.Event()

    def on_event(event: Progress) -> None:
        if event.phase == "cell" and not started.is_set():
            started.set()
            from .recording import warm_renderer

            threading.Thread(target=warm_renderer, name="mlops-warm-html", daemon=True).start()
        if progress is not None:
            progress(event)

    return on_event
