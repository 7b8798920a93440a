"""Public pipeline functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> print(mlops.show_pipeline("pipeline.yaml").text())           # doctest: +SKIP
>>> result = mlops.run_pipeline("pipeline.yaml", jobs=2)          # doctest: +SKIP
>>> result.counts                                                 # doctest: +SKIP
{'ran': 6, 'cached': 0, 'failed': 0, 'skipped': 0}
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Settings, load_settings
from .orchestrator import Options, run_spec
from .plan import PipelinePlan, plan_spec
from .spec import load_spec
from .units import PipelineListener, PipelineResult
from .upstream import UpstreamRun, UpstreamRuns, upstream

__all__ = [
    "PipelinePlan",
    "PipelineResult",
    "UpstreamRun",
    "UpstreamRuns",
    "run_pipeline",
    "show_pipeline",
    "upstream",
]


def _settings(spec_path: os.PathLike[str] | str, settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    return load_settings(os.path.dirname(os.path.abspath(spec_path)))


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def run_pipeline(
    path: str | os.PathLike[str] = "pipeline.yaml",
    *,
    jobs: int | None = None,
    executor: str = "local",
    only: str | Iterable[str] | None = None,
    from_step: str | None = None,
    force: bool = False,
    resume: bool = False,
    listener: PipelineListener | None = None,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
) -> PipelineResult:
    """Run ``pipeline.yaml``: each step and sweep member in a fresh kernel, as nested MLflow runs.

    The file is validated first (every problem in one message; nothing runs).
    Units whose cache key is unchanged reuse their recorded run; a failing unit
    does not stop its siblings, and steps needing it are skipped.

    Parameters
    ----------
    path : path-like
        The pipeline file.
    jobs : int, optional
        Units run at once; default the number of cores (``local``) or of Dask worker threads.
    executor : str
        ``local``, or ``dask://HOST:PORT`` for an existing Dask distributed scheduler.
    only : str or list of str, optional
        Run just these steps; their upstream steps must be cached.
    from_step : str, optional
        Run this step and everything downstream of it; upstream steps must be cached.
    force : bool
        Ignore the cache for the selected steps.
    resume : bool
        Reuse every unit that finished in the previous run of this pipeline; run the rest.
    listener : PipelineListener, optional
        Receives progress (on the calling thread).
    env : mapping, optional
        Extra environment variables of every step's kernel.

    Returns
    -------
    PipelineResult
        ``.ok``, ``.counts``, ``.units`` (status, run id, message), ``.table()``.

    Examples
    --------
    >>> r = mlops.run_pipeline("pipeline.yaml", jobs=2)   # doctest: +SKIP
    >>> print(r.table())                                   # doctest: +SKIP
    """
    spec = load_spec(path)
    extra = tuple(sorted((env or {}).items()))
    options = Options(jobs, executor, _names(only), from_step, force, resume, extra)
    return run_spec(spec, _settings(spec.path, settings), options, listener)


def show_pipeline(
    path: str | os.PathLike[str] = "pipeline.yaml",
    *,
    only: str | Iterable[str] | None = None,
    from_step: str | None = None,
    force: bool = False,
    settings: Settings | None = None,
) -> PipelinePlan:
    """Validate ``pipeline.yaml`` and show its DAG: what is cached and what would run.

    Starts no kernel and creates no run.

    Examples
    --------
    >>> print(mlops.show_pipeline("pipeline.yaml").text())  # doctest: +SKIP
    """
    spec = load_spec(path)
    options = Options(None, "local", _names(only), from_step, force, False)
    return plan_spec(spec, _settings(spec.path, settings), options)


#: names this module held before headless execution got its own package (0.x)
_MOVED = {"notebook_params", "reproduce", "run_notebook"}


def __getattr__(name: str) -> Any:
    """Forward the single-notebook functions to :mod:`jupyter_mlops.headless.api`, warning once."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    from ..headless import api as headless_api

    warnings.warn(
        f"jupyter_mlops.pipelines.api.{name} moved: use jupyter_mlops.{name} "
        f"(or jupyter_mlops.headless.api.{name}); the old path goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(headless_api, name)
