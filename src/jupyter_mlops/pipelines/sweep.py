"""Sweeps: a step's parameters expanded into members, one execution each.

``grid`` takes the cartesian product of every list-valued parameter, ``zip``
pairs them element-wise; scalars are shared by every member. To pass a list
as a single value inside a sweep, wrap it: ``layers: [[64, 32]]``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["expand", "member_label", "swept_names"]


def expand(params: Mapping[str, Any], sweep: str | None) -> list[dict[str, Any]]:
    """Return the parameters of each member, in a stable order.

    Examples
    --------
    >>> expand({"a": [1, 2], "b": ["x", "y"], "c": 0}, "grid")  # doctest: +NORMALIZE_WHITESPACE
    [{'a': 1, 'b': 'x', 'c': 0}, {'a': 1, 'b': 'y', 'c': 0},
     {'a': 2, 'b': 'x', 'c': 0}, {'a': 2, 'b': 'y', 'c': 0}]
    >>> expand({"a": [1, 2], "b": ["x", "y"]}, "zip")
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    >>> expand({"a": [1, 2]}, None)
    [{'a': [1, 2]}]
    """
    if not sweep:
        return [dict(params)]
    axes = [k for k, v in params.items() if isinstance(v, list)]
    if sweep == "zip":
        combos: list[tuple[Any, ...]] = list(zip(*(params[k] for k in axes), strict=False))
    else:
        combos = list(itertools.product(*(params[k] for k in axes)))
    return [{**params, **dict(zip(axes, combo, strict=True))} for combo in combos]


def member_label(params: Mapping[str, Any], swept: list[str]) -> str:
    """Short name of a member from its swept values, e.g. ``max_depth=4,n_estimators=100``."""
    return ",".join(f"{k}={_short(params[k])}" for k in swept)


def swept_names(params: Mapping[str, Any], sweep: str | None) -> list[str]:
    """Names of the parameters a sweep varies."""
    return [k for k, v in params.items() if isinstance(v, list)] if sweep else []


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 24 else text[:23] + "…"
