"""Checks of a searched step in ``pipeline.yaml`` (called by :mod:`..spec`).

Every problem is reported through ``report(text)``, so the whole file is
still checked in one pass and listed in one message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .config import GRID_METHODS, SAMPLERS, SearchConfig, parse_sweep
from .space import is_dimension, parse_space, sample_values

__all__ = ["notebook_samples", "ranges_without_search", "read_search"]

Report = Callable[[str], None]


def read_search(
    step: str,
    raw: Mapping[str, Any],
    params: Mapping[str, Any],
    report: Report,
    report_params: Report,
) -> tuple[str | None, SearchConfig | None]:
    """Read ``sweep: {method: ..., ...}``; return ``(method, config)``.

    ``grid`` and ``zip`` given as a mapping (``{method: grid}``) mean today's
    list sweeps and return no config.
    """
    method = raw.get("method")
    if method in GRID_METHODS:
        extra = sorted(str(k) for k in raw if k != "method")
        if extra:
            report(
                f"sweep method {method} of step {step!r} expands list-valued params and takes no "
                f"{', '.join(extra)}; those belong to {', '.join(SAMPLERS)}"
            )
        return str(method), None
    config, problems = parse_sweep(raw)
    for text in problems:
        report(f"step {step!r}: {text}")
    for text in parse_space(params)[1]:
        report_params(f"step {step!r}: {text}")
    if config is not None and not any(is_dimension(v) for v in params.values()):
        report(
            f"step {step!r} searches ({config.method}) but no param is a range or choices, "
            "e.g. params: {lr: {low: 0.001, high: 0.1, log: true}}"
        )
    return (str(method) if config else None), config


def ranges_without_search(step: str, params: Mapping[str, Any], report: Report) -> None:
    """Ranges and choices only mean something in a searched step."""
    names = [k for k, v in params.items() if is_dimension(v)]
    if names:
        report(
            f"step {step!r}: {', '.join(names)} {'is a range' if len(names) == 1 else 'are ranges'}"
            f" or choices, which need sweep: {{method: {'|'.join(SAMPLERS)}, trials: N, "
            "metric: NAME}"
        )


def notebook_samples(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Parameter sets covering every value kind a trial may get (for the notebook's type check)."""
    dims, _ = parse_space(params)
    fixed = {k: v for k, v in params.items() if not is_dimension(v)}
    longest = max((len(sample_values(d)) for d in dims.values()), default=1)
    out = []
    for i in range(longest):
        values = {
            name: sample_values(d)[min(i, len(sample_values(d)) - 1)] for name, d in dims.items()
        }
        out.append({**fixed, **values})
    return out
