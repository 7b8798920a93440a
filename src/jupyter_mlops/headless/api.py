"""Public headless functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> mlops.notebook_params("train.ipynb")                     # doctest: +SKIP
>>> result = mlops.run_notebook("train.ipynb", {"lr": 0.05})  # doctest: +SKIP
>>> report = mlops.reproduce(result.run_id)                   # doctest: +SKIP
>>> print(report.table())                                      # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .background import NotebookRun
from .execution import HeadlessResult, execute_notebook, prepare
from .parameters import (
    NotebookParam,
    declared_params,
    kernel_language,
    load_notebook_json,
    parameters_cell,
)
from .progress import ProgressCallback
from .reproduce import DEFAULT_ATOL, DEFAULT_RTOL, ReproduceReport, reproduce_run

# for pipelines reproducing their unit runs (``pipelines/reproduce.py``)
from .reproduce import check_tolerances as check_tolerances
from .reproduce import isolated_environment as isolated_environment

if TYPE_CHECKING:  # pragma: no cover
    from .isolation.rebuild import IsolatedEnv as IsolatedEnv

__all__ = ["notebook_params", "reproduce", "run_notebook"]


def notebook_params(path: str | os.PathLike[str]) -> list[NotebookParam]:
    """Return what the notebook's ``parameters`` cell defines (empty when it has none).

    Read by papermill's own inspection: the names, defaults and help that
    ``papermill --help-notebook`` shows, with a type for each.

    Examples
    --------
    >>> for p in mlops.notebook_params("train.ipynb"):  # doctest: +SKIP
    ...     print(p.name, p.type, p.default)
    lr float 0.01
    """
    doc = load_notebook_json(path)
    cell = parameters_cell(doc)
    return (declared_params(cell, *kernel_language(doc)) or []) if cell is not None else []


def run_notebook(
    path: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    background: bool = False,
    experiment: str | None = None,
    run_name: str | None = None,
    output_path: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    progress: ProgressCallback | None = None,
) -> HeadlessResult | NotebookRun:
    """Execute a notebook headless (papermill, fresh kernel) as one MLflow run.

    Parameters are checked against the ``parameters`` cell before anything starts.
    With ``background=True`` returns at once with a :class:`NotebookRun` handle
    (``.status``, ``.wait()``, ``.run_id``, ``.output_path``, ``.cancel()``).

    Examples
    --------
    >>> r = mlops.run_notebook("train.ipynb", {"lr": 0.05}, experiment="churn")  # doctest: +SKIP
    >>> r.status, r.run_id  # doctest: +SKIP
    ('FINISHED', '7c1e2a...')
    """
    options: dict[str, Any] = {
        "experiment": experiment,
        "run_name": run_name,
        "output_path": output_path,
        "kernel_name": kernel_name,
        "cwd": cwd,
        "env": env,
        "timeout": timeout,
    }
    if not background:
        return execute_notebook(path, params, progress=progress, **options)
    plan = prepare(path, params, kernel_name, cwd, output_path)  # errors surface here, now
    return NotebookRun(
        plan.notebook, execute_notebook, path=plan.notebook, params=params, **options
    )


def reproduce(
    run_id: str,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    *,
    output_path: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    isolated: bool = False,
    allow_missing: bool = False,
    find_links: Sequence[str] = (),
) -> ReproduceReport:
    """Re-execute a past run exactly as recorded, as a new run, and compare its metrics.

    With ``isolated=True`` the notebook runs in the run's recorded environment (its
    ``environment/pylock.toml``), rebuilt by uv in the user cache, or reused from there:
    the exact distributions it ran with, whatever is installed today.
    ``allow_missing=True`` goes on without distributions that cannot be installed
    (listed in the report); ``find_links`` are folders of wheels for offline installs.

    Examples
    --------
    >>> report = mlops.reproduce("7c1e2a...")  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    >>> report = mlops.reproduce("7c1e2a...", isolated=True)  # doctest: +SKIP
    >>> report.matching == report.recorded  # doctest: +SKIP
    True
    """
    from ..tracking.api import tracker

    settings = tracker().settings
    return reproduce_run(
        run_id,
        rtol=rtol,
        atol=atol,
        output_path=output_path,
        progress=progress,
        settings=settings,
        isolated=isolated,
        allow_missing=allow_missing,
        find_links=find_links,
    )
