"""Choosing and writing the MLflow flavor of an in-memory model.

scikit-learn estimators and Pipelines are saved with MLflow's ``sklearn``
flavor (so loading gives back the estimator, ``predict_proba`` included); any
other object with a callable ``predict`` is wrapped as a generic ``pyfunc``.
New flavors are new entries in :data:`FLAVORS`, tried in order.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ..errors import InvalidInput

__all__ = ["FLAVORS", "Flavor", "choose_flavor"]


@dataclass(frozen=True)
class Flavor:
    """How to recognise and save one kind of model."""

    name: str
    accepts: Callable[[Any], bool]
    save: Callable[..., None]


def _is_sklearn(model: Any) -> bool:
    # Only look if scikit-learn is already imported: an sklearn model implies it is.
    base = sys.modules.get("sklearn.base")
    return base is not None and isinstance(model, base.BaseEstimator)


def _has_predict(model: Any) -> bool:
    return callable(getattr(model, "predict", None))


def _pins(*names: str) -> list[str]:
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _skops_types(model: Any) -> list[str] | None:
    """Types skops must be told to trust to load ``model``; ``None`` if skops cannot save it."""
    try:
        import skops.io

        return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception:  # skops refuses some objects (lambdas, custom classes)
        return None


def _save_sklearn(model: Any, path: str, **kw: Any) -> None:
    import mlflow.sklearn

    # Pinning what is installed skips MLflow's requirement inference, which loads
    # the model again in a subprocess (seconds per registration).
    reqs = _pins("mlflow", "scikit-learn", "cloudpickle", "numpy", "pandas", "scipy", "skops")
    # skops is MLflow's safe default format; the types this very object uses are trusted
    # because the caller registers it from memory. Objects skops cannot hold use cloudpickle.
    trusted = _skops_types(model)
    if trusted is None:
        kw["serialization_format"] = mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
    else:
        kw["skops_trusted_types"] = trusted
    mlflow.sklearn.save_model(model, path, pip_requirements=reqs, **kw)


@functools.lru_cache(maxsize=64)
def _distributions_of(top: str) -> tuple[str, ...]:
    """Installed distributions providing module ``top`` (none for notebook classes)."""
    if top in ("__main__", "builtins") or top in sys.stdlib_module_names:
        return ()
    # packages_distributions scans every installed package: seconds, so once per module
    return tuple(metadata.packages_distributions().get(top, []))


def _save_pyfunc(model: Any, path: str, **kw: Any) -> None:
    import mlflow.pyfunc

    from .wrapper import PredictWrapper

    dists = _distributions_of(type(model).__module__.split(".")[0])
    reqs = _pins("mlflow", "cloudpickle", "numpy", "pandas", "jupyter-mlops", *dists)
    mlflow.pyfunc.save_model(path, python_model=PredictWrapper(model), pip_requirements=reqs, **kw)


#: tried in order; the first that accepts the object is used
FLAVORS: list[Flavor] = [
    Flavor("sklearn", _is_sklearn, _save_sklearn),
    Flavor("pyfunc", _has_predict, _save_pyfunc),
]


def choose_flavor(model: Any) -> Flavor:
    """Return the flavor for ``model``, or raise :class:`InvalidInput` when none fits."""
    for flavor in FLAVORS:
        if flavor.accepts(model):
            return flavor
    raise InvalidInput(
        f"cannot register a {type(model).__name__}: it has no predict() method; register a "
        "fitted scikit-learn estimator or Pipeline, or any object with predict(X)"
    )
