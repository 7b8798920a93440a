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
from ._version import __version__
from .tracking.mlflow_bridge import fluent as _mlflow_link

if TYPE_CHECKING:  # pragma: no cover
    from .data.api import SnapshotRef, drift, load, snapshot, snapshots
    from .data.validation.api import infer_schema, save_schema, validate
    from .headless.api import notebook_params, reproduce, run_notebook
    from .models.api import (
        feedback,
        gate,
        history,
        load_model,
        model_card,
        models,
        monitor,
        monitoring,
        predict,
        promote,
        register_model,
    )
    from .models.evaluate import evaluate
    from .pipelines.api import run_pipeline, show_pipeline, upstream
    from .pipelines.search.api import search
    from .schedules.handle import schedule, schedules
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

#: public name -> module that defines it (loaded on first access)
_API = {
    **dict.fromkeys(
        (
            "Run",
            "active_run",
            "artifact",
            "autolog",
            "end_run",
            "experiment",
            "flush",
            "log",
            "log_metrics",
            "log_params",
            "runs",
            "set_tags",
            "start_run",
            "status",
            "sync",
        ),
        ".tracking.api",
    ),
    **dict.fromkeys(("notebook_params", "reproduce", "run_notebook"), ".headless.api"),
    **dict.fromkeys(("run_pipeline", "show_pipeline", "upstream"), ".pipelines.api"),
    **dict.fromkeys(("schedule", "schedules"), ".schedules.handle"),
    **dict.fromkeys(("search",), ".pipelines.search.api"),
    **dict.fromkeys(("SnapshotRef", "drift", "load", "snapshot", "snapshots"), ".data.api"),
    # runs -> RunDiff; snapshots or frames -> the data diff (rule: tracking/diff/api.py)
    **dict.fromkeys(("diff",), ".tracking.diff.api"),
    **dict.fromkeys(("infer_schema", "save_schema", "validate"), ".data.validation.api"),
    **dict.fromkeys(
        (
            "feedback",
            "gate",
            "history",
            "load_model",
            "model_card",
            "models",
            "monitor",
            "monitoring",
            "predict",
            "promote",
            "register_model",
        ),
        ".models.api",
    ),
    **dict.fromkeys(("evaluate",), ".models.evaluate"),
    **dict.fromkeys(("panel",), ".widgets.panel"),
}

__all__ = ["__version__", "load_ipython_extension", *sorted(_API)]


def _link_mlflow() -> None:
    # not through _warm_imports: this runs inside ``import mlflow``, holding its module lock
    import_module(".tracking.api", __name__).link_mlflow()


# MLflow's fluent API shares our store and active run from the moment it is imported.
_mlflow_link.link_on_import(_link_mlflow)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    value = getattr(_warm_imports.load(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


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
