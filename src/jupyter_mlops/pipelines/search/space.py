"""Search spaces: ``{low, high, log, step}`` ranges and ``{choices: [...]}`` in a step's params.

A parameter whose value is a mapping with ``low``/``high`` or ``choices`` is a
dimension of the search; every other value is fixed and given to every trial.
A range is of integers when ``low``, ``high`` (and ``step``) are integers.

Examples
--------
>>> dims, problems = parse_space({"lr": {"low": 1e-4, "high": 0.3, "log": True}, "n": 1})
>>> dims["lr"], problems
(FloatRange(low=0.0001, high=0.3, log=True, step=None), [])
>>> parse_space({"depth": {"low": 12, "high": 2}})[1]
["range of 'depth' needs low < high (got low 12, high 2)"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .engine import import_optuna

__all__ = [
    "Choices",
    "Dimension",
    "FloatRange",
    "IntRange",
    "fixed_params",
    "is_dimension",
    "parse_space",
    "sample_values",
]

RANGE_KEYS = ("low", "high", "log", "step")
CHOICE_KEYS = ("choices",)
_RANGE_FORM = "{low: 0.001, high: 0.1, log: true} or {low: 2, high: 12, step: 1}"


@dataclass(frozen=True)
class FloatRange:
    """Floats in ``[low, high]``, on a log scale or in steps of ``step``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def distribution(self) -> Any:
        """The matching Optuna distribution."""
        return import_optuna().distributions.FloatDistribution(
            self.low, self.high, log=self.log, step=self.step
        )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a float within the range."""
        return isinstance(value, float) and self.low <= value <= self.high


@dataclass(frozen=True)
class IntRange:
    """Integers in ``[low, high]`` in steps of ``step``, or on a log scale."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def distribution(self) -> Any:
        """The matching Optuna distribution."""
        return import_optuna().distributions.IntDistribution(
            self.low, self.high, log=self.log, step=self.step
        )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an integer on the range's grid."""
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and self.low <= value <= self.high and (value - self.low) % self.step == 0


@dataclass(frozen=True)
class Choices:
    """One of a list of values (numbers, text, booleans or null)."""

    choices: tuple[Any, ...]

    def distribution(self) -> Any:
        """The matching Optuna distribution."""
        return import_optuna().distributions.CategoricalDistribution(self.choices)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the choices."""
        return value in self.choices


Dimension = FloatRange | IntRange | Choices


def is_dimension(value: Any) -> bool:
    """Whether a parameter value describes a search dimension rather than a fixed value."""
    return isinstance(value, Mapping) and bool({"low", "high", "choices"} & set(map(str, value)))


def fixed_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that are not search dimensions."""
    return {k: v for k, v in params.items() if not is_dimension(v)}


def parse_space(params: Mapping[str, Any]) -> tuple[dict[str, Dimension], list[str]]:
    """The dimensions among ``params`` and the problems found in them (one line each)."""
    dims: dict[str, Dimension] = {}
    problems: list[str] = []
    for name, value in params.items():
        if not is_dimension(value):
            continue
        dim: Dimension | None = (
            _choices(name, value, problems) if "choices" in value else _range(name, value, problems)
        )
        if dim is not None:
            dims[name] = dim
    return dims, problems


def sample_values(dim: Dimension) -> list[Any]:
    """Values a trial may receive, to check against the notebook's declared types."""
    if isinstance(dim, Choices):
        return list(dim.choices)
    return [dim.low, dim.high]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _extra_keys(value: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    return ", ".join(sorted(str(k) for k in value if k not in allowed))


def _choices(name: str, value: Mapping[str, Any], problems: list[str]) -> Choices | None:
    if extra := _extra_keys(value, CHOICE_KEYS):
        problems.append(f"{{choices: ...}} of {name!r} takes no other key (got {extra})")
        return None
    choices = value["choices"]
    scalar = (str, int, float, bool, type(None))
    if not isinstance(choices, list) or not choices:
        problems.append(
            f"choices of {name!r} must be a non-empty list, e.g. {{choices: [rf, gbm]}}"
        )
        return None
    if not all(isinstance(c, scalar) for c in choices):
        problems.append(f"choices of {name!r} must be numbers, text, true/false or null")
        return None
    return Choices(tuple(choices))


def _range(name: str, value: Mapping[str, Any], problems: list[str]) -> Dimension | None:
    if extra := _extra_keys(value, RANGE_KEYS):
        keys = ", ".join(RANGE_KEYS)
        problems.append(f"unknown key(s) {extra} in the range of {name!r}; valid keys: {keys}")
        return None
    low: Any = value.get("low")
    high: Any = value.get("high")
    log: Any = value.get("log")
    step: Any = value.get("step")
    found = len(problems)
    if not (_number(low) and _number(high)):
        problems.append(f"range of {name!r} needs numbers low and high, e.g. {_RANGE_FORM}")
        return None
    if low >= high:
        problems.append(f"range of {name!r} needs low < high (got low {low}, high {high})")
    if log is not None and not isinstance(log, bool):
        problems.append(f"'log' in the range of {name!r} must be true or false")
    if step is not None and not (_number(step) and step > 0):
        problems.append(f"'step' in the range of {name!r} must be a positive number")
    if log and low <= 0:
        problems.append(f"range of {name!r} is on a log scale, so low must be > 0 (got {low})")
    integral = all(isinstance(v, int) for v in (low, high, step if step is not None else 1))
    if log and step is not None and not (integral and step == 1):
        problems.append(f"range of {name!r} takes 'log' or 'step', not both")
    if len(problems) > found:
        return None
    if integral:
        return IntRange(int(low), int(high), bool(log), int(step or 1))
    return FloatRange(float(low), float(high), bool(log), float(step) if step else None)
