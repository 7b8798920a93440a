"""The generic ``pyfunc`` wrapper for objects that only promise ``predict(X)``.

Imported when saving or loading such a model, never at package import (MLflow is heavy).
"""

from __future__ import annotations

from typing import Any

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

    # No type hints on the inputs: MLflow would derive a signature from them.
    def predict(self, context, model_input, params=None):
        """Return ``obj.predict(model_input)``."""
        return self.obj.predict(model_input)
