"""``--promote-when`` / ``--rollback-when``: small expressions over champion and challenger figures.

``challenger.labels >= 500 and challenger.accuracy >= champion.accuracy + 0.01``:
names are ``champion.<figure>`` or ``challenger.<figure>``, numbers, ``+ - * /``,
comparisons, ``and``/``or``/``not`` and parentheses. The text is parsed with
:mod:`ast` and only those nodes are accepted, so nothing in it is ever run as
Python. A figure that is not known yet (no labels, no requests) makes the
expression false, never an error.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput
from ..live_metrics import CLASSIFIER_METRICS, REGRESSOR_METRICS

__all__ = ["FIGURES", "SIDES", "Rule", "parse_rule"]

SIDES = ("champion", "challenger")
#: figure -> what it is
FIGURES: dict[str, str] = {
    "labels": "labelled predictions",
    **{m: f"live {m} over the feedback window" for m in CLASSIFIER_METRICS + REGRESSOR_METRICS},
    "error_rate": "share of its last requests that failed",
    "p50_ms": "median request duration of its last requests (ms)",
    "p99_ms": "99th percentile request duration of its last requests (ms)",
    "requests": "requests it answered (or scored in shadow) since start",
    "drift_share_drifted": "share of features drifted over the live window (--monitor)",
    "drift_psi_max": "largest feature PSI over the live window (--monitor)",
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class _Unknown(Exception):
    """A figure has no value yet."""


@dataclass(frozen=True)
class Rule:
    """One parsed expression; :meth:`holds` evaluates it on the figures of both sides."""

    option: str
    text: str
    tree: ast.Expression

    def names(self) -> list[str]:
        """The ``side.figure`` names it uses, in order of appearance."""
        seen: list[str] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                name = f"{node.value.id}.{node.attr}"
                if name not in seen:
                    seen.append(name)
        return seen

    def holds(self, figures: Mapping[str, Mapping[str, float]]) -> bool:
        """Whether the expression is true; false while a figure it uses is unknown."""
        try:
            return bool(_eval(self.tree.body, figures))
        except (_Unknown, ZeroDivisionError):
            return False

    def values(self, figures: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
        """The figures it uses, as seen now (for the audit record and the alert)."""
        out: dict[str, float | None] = {}
        for name in self.names():
            side, figure = name.split(".")
            out[name] = figures.get(side, {}).get(figure)
        return out

    def describe(self, figures: Mapping[str, Mapping[str, float]]) -> str:
        """``expression (challenger.accuracy=0.93, ...)``."""
        seen = ", ".join(
            f"{k}={'?' if v is None else f'{v:.6g}'}" for k, v in self.values(figures).items()
        )
        return f"{self.text} ({seen})"


def parse_rule(option: str, text: str) -> Rule:
    """Parse and check one expression; refuse unknown words naming the valid ones.

    Examples
    --------
    >>> rule = parse_rule("--promote-when", "challenger.accuracy > champion.accuracy + 0.01")
    >>> rule.holds({"champion": {"accuracy": 0.8}, "challenger": {"accuracy": 0.9}})
    True
    """
    valid = ", ".join(f"{s}.{f}" for s in SIDES for f in FIGURES)
    try:
        tree = ast.parse(text or "", mode="eval")
    except SyntaxError:
        raise InvalidInput(
            f"cannot parse {option} {text!r}; write e.g. "
            '"challenger.labels >= 500 and challenger.accuracy >= champion.accuracy + 0.01"'
        ) from None
    for node in ast.walk(tree):
        _check_node(option, text, node, valid)
    return Rule(option, text, tree)


def _check_node(option: str, text: str, node: ast.AST, valid: str) -> None:
    allowed = (
        ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
        ast.Compare, ast.BinOp, ast.Constant, ast.Attribute, ast.Name, ast.Load,
        *_COMPARE, *_ARITH,
    )  # fmt: skip
    if not isinstance(node, allowed):
        raise InvalidInput(
            f"{option} {text!r} uses {type(node).__name__.lower()}, which it does not allow; "
            "use figures, numbers, + - * /, comparisons, and/or/not"
        )
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, bool) or not isinstance(node.value, (int, float))
    ):
        raise InvalidInput(f"{option} {text!r} has {node.value!r}; only numbers are allowed")
    if isinstance(node, ast.Name) and node.id not in SIDES:
        raise InvalidInput(f"{option} {text!r}: unknown word {node.id!r}; valid: {valid}")
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise InvalidInput(f"{option} {text!r}: write SIDE.FIGURE; valid: {valid}")
        if node.attr not in FIGURES:
            raise InvalidInput(
                f"{option} {text!r}: unknown word {node.attr!r} in "
                f"{node.value.id}.{node.attr}; valid: {valid}"
            )


def _eval(node: ast.AST, figures: Mapping[str, Mapping[str, float]]) -> Any:
    if isinstance(node, ast.BoolOp):
        results = (_eval(v, figures) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, figures)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, figures)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, figures)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_eval(node.left, figures), _eval(node.right, figures))
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        value = figures.get(node.value.id, {}).get(node.attr)
        if value is None or value != value:  # unknown or NaN
            raise _Unknown(node.attr)
        return value
    raise _Unknown(type(node).__name__)  # pragma: no cover - refused by parse_rule
