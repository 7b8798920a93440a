"""Checks on a step's inputs before it runs: ``validate: {snapshot: NAME, against: REF}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MlopsError

if TYPE_CHECKING:  # pragma: no cover
    from .spec import StepSpec

__all__ = ["check_inputs"]


def check_inputs(step: StepSpec, pins: dict[str, str], store: str) -> str | None:
    """Why ``step`` must not run (its declared input fails validation), or None.

    The snapshot checked is the version an upstream step produced in this run
    (its pin), else the latest version of that name.
    """
    if step.validate is None:
        return None
    from ..data.validation.api import validate

    name, against = step.validate
    ref = f"{name}@{pins[name]}" if name in pins else name
    try:
        report = validate(ref, against, log=False, store=store)
    except MlopsError as exc:
        return f"input {name} could not be validated against {against}: {exc}"
    if report.passed:
        return None
    table = report.anomalies[["column", "kind", "detail"]].to_string(index=False)
    return f"input {report.summary()}; the step was not run\n{table}"
