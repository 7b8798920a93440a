"""Keeping MLflow's per-call chatter (pickle cautions, type-hint tips) out of cell output."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["quiet"]

_LOGGERS = ("mlflow.pyfunc", "mlflow.sklearn", "mlflow.models")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide MLflow's per-save chatter (pickle cautions, example validation) in cell output."""
    loggers = [logging.getLogger(n) for n in _LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
