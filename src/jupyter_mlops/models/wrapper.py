"""The generic ``pyfunc`` wrapper for objects that only promise ``predict(X)``.

Imported when saving or loading such a model, never at package import (MLflow is heavy).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

__all__ = ["PredictWrapper"]


class PredictWrapper(PythonModel):
    """Serve ``obj.predict`` through MLflow's pyfunc interface.

    Parameters
    ----------
    obj : object
        Anything with a ``predict(X)`` method; pickled with the model.
    """

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    # A DataFrame hint is one MLflow neither validates nor derives a signature from,
    # and it stops MLflow's "add type hints" warning on every save and load.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        """Return ``obj.predict(model_input)``."""
        return self.obj.predict(model_input)
