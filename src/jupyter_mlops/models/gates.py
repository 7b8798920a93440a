"""Promotion gates: ``"accuracy>=0.9"`` thresholds and ``--beat ALIAS --on METRIC`` comparisons.

Parsing happens before anything is read or written, so a malformed gate never
leaves half a promotion behind. Evaluation is pure: metrics in, report out.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import GateFailed, InvalidInput, NotFound

__all__ = [
    "OPERATORS",
    "Beat",
    "Check",
    "GateReport",
    "PromotionRefused",
    "Threshold",
    "evaluate",
    "parse_beat",
    "parse_requirement",
]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_FORM = 'METRIC OP VALUE with OP one of >=, >, <=, <, ==, !=, e.g. --require "accuracy>=0.9"'
_EXPR = re.compile(r"^\s*([A-Za-z0-9_.\-/ :]+?)\s*(>=|<=|==|!=|>|<)\s*([^<>=!\s]\S*)\s*$")


@dataclass(frozen=True)
class Threshold:
    """``metric OP value``: the version's own metric against a fixed number."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Beat:
    """The version's ``metric`` must beat the version holding ``alias`` (ties do not beat)."""

    alias: str
    metric: str
    lower_is_better: bool = False

    def __str__(self) -> str:
        word = "<" if self.lower_is_better else ">"
        return f"{self.metric} {word} {self.metric}@{self.alias}"


@dataclass(frozen=True)
class Check:
    """One evaluated gate: what was checked, the value seen, the bar, and the outcome."""

    check: str
    value: float | None
    threshold: float | None
    passed: bool
    note: str = ""


@dataclass
class GateReport:
    """Every gate evaluated for one model version.

    Attributes
    ----------
    model, version : str
        The candidate.
    checks : list of Check
        In the order given; an empty list passes.
    promoted_to : str or None
        The alias moved to the candidate, when a promotion was asked and allowed.
    previous : str or None
        Version that held that alias before.
    """

    model: str
    version: str
    checks: list[Check] = field(default_factory=list)
    promoted_to: str | None = None
    previous: str | None = None

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The gates that did not pass."""
        return [c for c in self.checks if not c.passed]

    def failure_text(self) -> str:
        """One line naming each failed gate with the value seen."""
        parts = []
        for c in self.failures:
            seen = "-" if c.value is None else f"{c.value:g}"
            bar = "" if c.threshold is None else f" vs {c.threshold:g}"
            parts.append(f"{c.check} (got {seen}{bar})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the ``--json`` report of ``jupyter mlops gate``)."""
        return {
            "model": self.model,
            "version": self.version,
            "passed": self.passed,
            "promoted_to": self.promoted_to,
            "previous": self.previous,
            "checks": [asdict(c) for c in self.checks],
        }

    def table(self) -> str:
        """A plain-text table: check, value, threshold, result."""
        rows = [("check", "value", "threshold", "result")]
        for c in self.checks:
            rows.append((c.check, _num(c.value), _num(c.threshold), "pass" if c.passed else "FAIL"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        head = f"{self.model} version {self.version}: "
        head += "all gates pass" if self.passed else f"{len(self.failures)} gate(s) failed"
        if not self.checks:
            head += " (no gates given)"
        return "\n".join([head, *lines] if self.checks else [head])

    def __str__(self) -> str:
        return self.table()


class PromotionRefused(GateFailed):
    """A gate failed, so the alias stayed where it was; :attr:`report` has the details."""

    def __init__(self, message: str, report: GateReport) -> None:
        super().__init__(message)
        self.report = report


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def parse_requirement(text: str) -> Threshold:
    """Parse ``"accuracy>=0.9"`` (spaces allowed) into a :class:`Threshold`.

    Examples
    --------
    >>> parse_requirement("f1 > 0.8")
    Threshold(metric='f1', op='>', value=0.8)
    """
    m = _EXPR.match(text or "")
    if m is None:
        raise InvalidInput(f"cannot parse gate {text!r}; use {_FORM}")
    metric, op, raw = m.group(1).strip(), m.group(2), m.group(3)
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(
            f"gate {text!r} compares with {raw!r}, which is not a number; use {_FORM}"
        ) from None
    if math.isnan(value):
        raise InvalidInput(f"gate {text!r} compares with NaN, which never passes; use a number")
    return Threshold(metric, op, value)


def parse_beat(alias: str | None, metric: str | None, lower_is_better: bool = False) -> Beat | None:
    """Build a :class:`Beat` from ``--beat``/``--on``, refusing one without the other."""
    if alias is None and metric is None:
        if lower_is_better:
            raise InvalidInput("--lower-is-better only applies with --beat ALIAS --on METRIC")
        return None
    if not alias or not metric:
        raise InvalidInput(
            "--beat and --on go together: --beat ALIAS --on METRIC, "
            "e.g. --beat production --on accuracy"
        )
    from .refs import check_alias

    return Beat(check_alias(alias), metric.strip(), lower_is_better)


def evaluate(
    metrics: Mapping[str, float],
    requirements: Sequence[Threshold],
    beat: Beat | None = None,
    incumbent: tuple[str, Mapping[str, float]] | None = None,
    whose: str = "the source run",
) -> list[Check]:
    """Evaluate gates on a version's ``metrics``.

    Parameters
    ----------
    metrics : mapping
        The candidate's source-run metrics (latest value per key).
    requirements : sequence of Threshold
    beat : Beat, optional
    incumbent : (version, metrics), optional
        The version holding ``beat.alias`` and its metrics; ``None`` when no version
        holds the alias yet, in which case the comparison passes (first promotion).
    whose : str
        Names the candidate's run in errors.

    Raises
    ------
    NotFound
        A gate names a metric the candidate (or the incumbent) never logged.
    """
    checks = [_threshold(metrics, r, whose) for r in requirements]
    if beat is not None:
        checks.append(_beat(metrics, beat, incumbent, whose))
    return checks


def _missing(metric: str, metrics: Mapping[str, float], whose: str) -> NotFound:
    known = ", ".join(sorted(metrics)) or "none"
    return NotFound(
        f"gate metric {metric!r} was not logged on {whose} (metrics: {known}); "
        "log it on the run that trained the model or fix the gate"
    )


def _threshold(metrics: Mapping[str, float], req: Threshold, whose: str) -> Check:
    value = metrics.get(req.metric)
    if value is None:
        raise _missing(req.metric, metrics, whose)
    return Check(str(req), value, req.value, bool(OPERATORS[req.op](value, req.value)))


def _beat(
    metrics: Mapping[str, float],
    beat: Beat,
    incumbent: tuple[str, Mapping[str, float]] | None,
    whose: str,
) -> Check:
    value = metrics.get(beat.metric)
    if value is None:
        raise _missing(beat.metric, metrics, whose)
    if incumbent is None:
        return Check(str(beat), value, None, True, f"no version holds {beat.alias!r} yet")
    version, theirs = incumbent
    other = theirs.get(beat.metric)
    if other is None:
        raise _missing(beat.metric, theirs, f"the source run of version {version} ({beat.alias})")
    better = value < other if beat.lower_is_better else value > other
    return Check(str(beat), value, other, better, f"{beat.alias} is version {version}")
