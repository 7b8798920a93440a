"""Checks done in the caller's thread, so a bad value fails at once and is never buffered.

The rules mirror what MLflow's tracking store enforces; checking them here keeps
a background flush from failing long after the cell that caused it.
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ...errors import InvalidInput

__all__ = [
    "Checked",
    "check_key",
    "check_param_value",
    "check_step",
    "check_tag_value",
    "check_values",
    "is_metric_value",
    "to_metric",
]

_KEY_RE = re.compile(r"^[/\w.\- :]{1,250}$")
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
_valid_keys: set[str] = set()


def check_key(key: str, kind: str = "key") -> str:
    """Return ``key`` when MLflow accepts it as a metric, param or tag name.

    Raises
    ------
    InvalidInput
        Naming the key and the allowed characters.
    """
    if key in _valid_keys:
        return key
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise InvalidInput(
            f"invalid {kind} name {key!r}: use 1-250 letters, digits, '_', '-', '.', ' ', ':' "
            "or '/', e.g. train/loss"
        )
    norm = posixpath.normpath(key)
    if norm != key or norm in (".", "..") or norm.startswith(("../", "/")):
        raise InvalidInput(
            f"invalid {kind} name {key!r}: it must not look like a relative path "
            f"(it resolves to {norm!r}); drop leading '/', '..' and doubled '/'"
        )
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def is_metric_value(value: Any) -> bool:
    """Return whether ``value`` is a real number that should be logged as a metric."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def to_metric(key: str, value: Any) -> float:
    """Return ``value`` as a float metric, or raise naming the key and the bad value."""
    if is_metric_value(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if not math.isnan(number) or value.strip().lower() == "nan":
                return number
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise InvalidInput(
        f"metric {key!r} must be a number, got {shown} ({type(value).__name__}); "
        f"log text with params instead, e.g. params {key}=..."
    )


def check_param_value(key: str, value: Any) -> str:
    """Return the text MLflow stores for a param value, checking its length."""
    text = str(value)
    if len(text) > MAX_PARAM_LENGTH:
        raise InvalidInput(
            f"param {key!r} is {len(text)} characters; MLflow keeps at most {MAX_PARAM_LENGTH}: "
            "log long text as an artifact instead"
        )
    return text


def check_tag_value(key: str, value: Any) -> str:
    """Return the text MLflow stores for a tag value, checking its length."""
    text = str(value)
    if len(text) > MAX_TAG_LENGTH:
        raise InvalidInput(
            f"tag {key!r} is {len(text)} characters; MLflow keeps at most {MAX_TAG_LENGTH}"
        )
    return text


def check_step(step: Any) -> int:
    """Return ``step`` as a whole number (``None`` is step 0)."""
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, int):
        try:
            return int(str(step))
        except ValueError:
            raise InvalidInput(
                f"step must be a whole number, got {step!r}; e.g. --step 3"
            ) from None
    return step


class Checked(NamedTuple):
    """Values checked and converted to what MLflow stores, ready to buffer."""

    metrics: list[tuple[str, float]]
    params: list[tuple[str, str]]
    tags: list[tuple[str, str]]
    step: int


def check_values(
    metrics: Mapping[str, Any], params: Mapping[str, Any], tags: Mapping[str, Any], step: Any
) -> Checked:
    """Check every key and value of one log call, all-or-nothing."""
    if not (metrics or params or tags):
        raise InvalidInput("nothing to log: give key=value pairs, e.g. log acc=0.91 model=rf")
    step_value = check_step(step)
    return Checked(
        [(check_key(k, "metric"), to_metric(k, v)) for k, v in metrics.items()],
        [(check_key(k, "param"), check_param_value(k, v)) for k, v in params.items()],
        [(check_key(k, "tag"), check_tag_value(k, v)) for k, v in tags.items()],
        step_value,
    )
