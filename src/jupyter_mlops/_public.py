"""The public API in one table: every name ``import jupyter_mlops as mlops`` offers.

Daily verbs are flat (``mlops.log``, ``mlops.start_run``, ``mlops.snapshot``,
``mlops.register_model``, ...); the rest lives under a namespace named after what it
works on (``mlops.data.load``, ``mlops.models.history``, ``mlops.schedules.list``). A
namespace is the service package itself, so each namespace's names resolve lazily
through the package's ``__getattr__`` (:func:`namespace`), like the flat names do
through ``jupyter_mlops.__getattr__``: importing the package loads no service.

Old top-level spellings of namespaced names stay for one release (:data:`DEPRECATED`):
they work and raise a :class:`DeprecationWarning` naming the new spelling. Calling the
``models`` and ``schedules`` namespaces (``mlops.models()``, ``mlops.schedules()``) is
the old spelling of ``mlops.models.list()`` and ``mlops.schedules.list()`` and warns
the same way; that call goes away with the other old spellings.

A foundation: the tables name modules as strings, loaded through :mod:`.warm_imports`
(an import waits for another thread's, as a kernel's warm-up imports run on one).
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

from . import warm_imports

__all__ = ["DEPRECATED", "FLAT", "NAMESPACES", "namespace", "resolve"]

#: a public name -> (module defining it, relative to the package; its name there)
Target = tuple[str, str]


def _same(module: str, *names: str) -> dict[str, Target]:
    return {name: (module, name) for name in names}


#: flat names: ``mlops.<name>``
FLAT: dict[str, Target] = {
    **_same(
        ".tracking.api",
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
    # runs -> RunDiff; snapshots or frames -> the data diff (rule: tracking/diff/api.py)
    **_same(".tracking.diff.api", "diff"),
    **_same(".data.api", "SnapshotRef", "snapshot"),
    **_same(".models.api", "load_model", "promote", "register_model"),
    **_same(".models.production_api", "feedback", "predict"),
    **_same(".headless.api", "notebook_params", "reproduce", "run_notebook"),
    **_same(".pipelines.api", "run_pipeline", "show_pipeline", "upstream"),
    **_same(".pipelines.search.api", "search"),
    **_same(".schedules.handle", "schedule"),
    **_same(".widgets.panel", "panel"),
}

#: namespaces: ``mlops.<namespace>.<name>``; each namespace is the package of that name
NAMESPACES: dict[str, dict[str, Target]] = {
    "data": {
        **_same(".data.api", "diff", "drift", "load", "snapshots"),
        **_same(".data.validation.api", "infer_schema", "save_schema", "validate"),
    },
    "models": {
        **_same(".models.api", "gate", "history", "monitor", "monitoring"),
        "card": (".models.api", "model_card"),
        "list": (".models.api", "models"),
        "performance": (".models.live_performance", "performance_over_time"),
        **_same(".models.evaluation", "evaluate"),
    },
    "schedules": {"list": (".schedules.handle", "schedules")},
}

#: old top-level spelling -> its namespaced spelling (kept one release, with a warning)
DEPRECATED: dict[str, str] = {
    "drift": "data.drift",
    "load": "data.load",
    "snapshots": "data.snapshots",
    "validate": "data.validate",
    "infer_schema": "data.infer_schema",
    "save_schema": "data.save_schema",
    "gate": "models.gate",
    "history": "models.history",
    "monitor": "models.monitor",
    "monitoring": "models.monitoring",
    "model_card": "models.card",
    "evaluate": "models.evaluate",
}

#: namespaces that were also functions: calling one is the old spelling of ``<ns>.list()``
DEPRECATED_CALLS: dict[str, str] = {"models": "models.list", "schedules": "schedules.list"}

_ROOT = __name__.rpartition(".")[0]


def resolve(target: Target) -> Any:
    """The object a table entry names, importing its module."""
    module, name = target
    return getattr(warm_imports.load(module, _ROOT), name)


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Say once per call site that ``mlops.<old>`` is now ``mlops.<new>``."""
    warnings.warn(
        f"mlops.{old} is deprecated and goes away in the next release; use mlops.{new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def deprecated(name: str) -> Any:
    """The object an old top-level spelling names, with its warning."""
    new = DEPRECATED[name]
    space, _, attr = new.partition(".")
    warn_renamed(name, new)
    return resolve(NAMESPACES[space][attr])


class _CalledNamespace(types.ModuleType):
    """A namespace that was also a function: the call still works for one release."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        space = self.__name__.rpartition(".")[2]
        new = DEPRECATED_CALLS[space]
        warn_renamed(f"{space}()", f"{new}()", stacklevel=2)
        return resolve(NAMESPACES[space][new.partition(".")[2]])(*args, **kwargs)


def namespace(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package behind namespace ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``, e.g. ``"jupyter_mlops.models"``.

    Returns
    -------
    tuple
        The two module-level functions, to be bound as ``__getattr__, __dir__``.
    """
    space = package.rpartition(".")[2]
    table = NAMESPACES[space]
    module = sys.modules[package]
    if space in DEPRECATED_CALLS:
        module.__class__ = _CalledNamespace

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = resolve(table[name])
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(table))

    return __getattr__, __dir__
