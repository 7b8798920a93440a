"""Values made JSON-ready: numpy scalars as Python numbers, no NaN or infinity, text otherwise.

JSON has no NaN or Infinity, and ``json.dumps`` cannot write numpy scalars or timestamps,
so every report, profile and run row handed to an interface goes through these two.
Imports nothing of ours (a foundation).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none", "json_scalar"]


def finite_or_none(value: float | None) -> float | None:
    """``value``, or ``None`` when it is NaN or infinite (JSON's ``null``)."""
    return value if value is None or math.isfinite(value) else None


def json_scalar(value: Any) -> Any:
    """A JSON-able scalar for ``value``.

    Numpy scalars become Python ones (``np.int64(3)`` -> ``3``, ``np.bool_`` -> ``bool``);
    NaN and infinities become ``None``; ``None``, booleans, integers, floats and strings
    stay; anything else (timestamps, decimals, ...) becomes its text.

    Examples
    --------
    >>> import numpy as np
    >>> [json_scalar(v) for v in (np.float64("nan"), np.int64(3), 2.5, "a", None)]
    [None, 3, 2.5, 'a', None]
    """
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
