"""jupyter-mlops: notebook-native MLOps on MLflow.

Examples
--------
>>> import jupyter_mlops as mlops
>>> with mlops.start_run(name="baseline"):  # doctest: +SKIP
...     mlops.log(acc=0.9, step=3)

In a notebook: ``%load_ext jupyter_mlops`` then ``%mlops help``.
Importing this package is cheap: services (and MLflow) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import warm_imports as _warm_imports
from ._public import DEPRECATED, FLAT, NAMESPACES, deprecated, resolve
from ._version import __version__
from .tracking.mlflow_bridge import fluent as _mlflow_link

if TYPE_CHECKING:  # pragma: no cover
    # For type checkers and editors only; the names are FLAT in ``_public.py`` (a test
    # checks that this block imports exactly those, from the modules the table names).
    from . import data, models, schedules
    from .data.api import SnapshotRef, snapshot
    from .headless.api import notebook_params, reproduce, run_notebook
    from .models.api import load_model, promote, register_model
    from .models.production_api import feedback, predict
    from .pipelines.api import run_pipeline, show_pipeline, upstream
    from .pipelines.search.api import search
    from .schedules.handle import schedule
    from .tracking.api import (
        Run,
        active_run,
        artifact,
        autolog,
        end_run,
        experiment,
        flush,
        log,
        log_metrics,
        log_params,
        runs,
        set_tags,
        start_run,
        status,
        sync,
    )
    from .tracking.diff.api import diff
    from .widgets.panel import panel

__all__ = ["__version__", "load_ipython_extension", *sorted(FLAT), *sorted(NAMESPACES)]


def _link_mlflow() -> None:
    # not through _warm_imports: this runs inside ``import mlflow``, holding its module lock
    import_module(".tracking.api", __name__).link_mlflow()


# MLflow's fluent API shares our store and active run from the moment it is imported.
_mlflow_link.link_on_import(_link_mlflow)


def __getattr__(name: str) -> Any:
    if name in NAMESPACES:
        return _warm_imports.load(f".{name}", __name__)
    if name in DEPRECATED:
        return deprecated(name)
    target = FLAT.get(name)
    if target is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    value = resolve(target)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(FLAT) | set(NAMESPACES))


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%mlops`` / ``%%mlops`` (``%load_ext jupyter_mlops``)."""
    from .magics import load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Tell jupyter_server where the REST extension lives (loaded lazily)."""
    return [{"module": "jupyter_mlops.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell ``jupyter labextension develop`` where the built labextension is."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def unload_ipython_extension(ipython: Any) -> None:
    """Flush pending values when the extension is unloaded."""
    from .magics import unload

    unload(ipython)
