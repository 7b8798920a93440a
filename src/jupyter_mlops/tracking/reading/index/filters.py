"""MLflow filter strings and ``order_by`` clauses, compiled over the index's rows."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ....errors import InvalidInput
from ...mlflow_bridge.store import mlflow_errors
from ..frames import FILTER_HINT, ORDER_HINT
from ..run_rows import UNINDEXED_TAGS, RunRow

#: one compiled clause of a filter
Predicate = Callable[[RunRow], bool]

_ATTR_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name"}
_ATTRS: dict[str, Callable[[RunRow], Any]] = {
    "run_id": lambda r: r.run_id,
    "run_name": lambda r: r.name,
    "status": lambda r: r.status,
    "user_id": lambda r: r.user_id,
    "artifact_uri": lambda r: r.artifact_uri,
    "start_time": lambda r: r.start_time,
    "end_time": lambda r: r.end_time,
    "experiment_id": lambda r: r.experiment_id,
    "lifecycle_stage": lambda r: "active",
}


def _search_utils() -> Any:
    # mlflow.utils.search_utils imported before mlflow itself hits a circular import
    import mlflow  # noqa: F401
    from mlflow.utils.search_utils import SearchUtils

    return SearchUtils


def _like_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # SQL LIKE: % is any run of characters, _ is one character, everything else literal
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), flags | re.DOTALL)


def _comparison(comparator: str, value: Any) -> Callable[[Any], bool]:
    if comparator in ("LIKE", "ILIKE"):
        rx = _like_regex(value, re.IGNORECASE if comparator == "ILIKE" else 0)
        return lambda lhs: rx.fullmatch(str(lhs)) is not None
    if comparator in ("IN", "NOT IN"):
        values = set(value)
        return (
            (lambda lhs: lhs in values) if comparator == "IN" else (lambda lhs: lhs not in values)
        )
    import operator

    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
    ops.update({"=": operator.eq, "!=": operator.ne})
    op = ops[comparator]
    return lambda lhs: op(lhs, value)


def _getter(kind: str, key: str, comparator: str) -> Callable[[RunRow], Any]:
    S = _search_utils()

    # MLflow's own checks, in MLflow's order, so unsupported comparators fail as MLflow fails
    if S.is_metric(kind, comparator):
        return lambda r: r.metrics.get(key)
    if S.is_param(kind, comparator):
        return lambda r: r.params.get(key)
    if S.is_tag(kind, comparator):
        if key in UNINDEXED_TAGS:
            raise InvalidInput(
                f"tag {key!r} holds large text and is not indexed for browsing; "
                f'search it with mlops.runs(filter="tags.`{key}` LIKE ...") instead'
            )
        return lambda r: r.tags.get(key)
    if S.is_string_attribute(kind, key, comparator) or S.is_numeric_attribute(
        kind, key, comparator
    ):
        return _ATTRS.get(key, lambda r: None)
    raise InvalidInput(f"cannot filter runs by {kind} {key!r}: {FILTER_HINT}")


def _predicate(clause: dict[str, Any]) -> Predicate:
    kind, comparator = clause["type"], clause["comparator"].upper()
    key, value = clause["key"], clause["value"]
    key = _ATTR_ALIASES.get(key, key) if kind == "attribute" else key
    if kind == "dataset":
        S = _search_utils()

        S.is_dataset(kind, comparator)
        test = _comparison(comparator, value)
        pos = {"name": 0, "digest": 1, "context": 2}[key]
        return lambda r: any(test(d[pos]) for d in r.datasets)
    get = _getter(kind, key, comparator)
    if comparator in ("IS NULL", "IS NOT NULL"):
        want_null = comparator == "IS NULL"
        return lambda r: (get(r) is None) == want_null
    if kind == "metric":
        value = float(value)
    elif kind == "attribute" and key in ("start_time", "end_time") and isinstance(value, str):
        value = int(value)
    test = _comparison(comparator, value)

    def matches(row: RunRow) -> bool:
        lhs = get(row)
        return lhs is not None and test(lhs)

    return matches


def compile_filter(filter_string: str) -> list[Predicate]:
    """Parse ``filter_string`` with MLflow's parser into predicates (all must hold)."""
    SearchUtils = _search_utils()

    with mlflow_errors("filter runs", FILTER_HINT):
        return [_predicate(c) for c in SearchUtils.parse_search_filter(filter_string or "")]


def _order_getter(kind: str, key: str) -> Callable[[RunRow], Any]:
    if kind == "metric":
        return lambda r: r.metrics.get(key)
    if kind == "parameter":
        return lambda r: r.params.get(key)
    if kind == "tag":
        return lambda r: r.tags.get(key)
    return _ATTRS.get(key, lambda r: None)


#: ``duration [ASC|DESC]``: an index-only order key (MLflow has no duration attribute)
_DURATION = re.compile(r"^\s*(?:attributes?\.|attr\.|run\.)?duration(?:\s+(ASC|DESC))?\s*$", re.I)


def compile_order(order_by: Sequence[str]) -> list[tuple[Callable[[RunRow], Any], bool]]:
    """Parse ``order_by`` clauses with MLflow's parser into ``(getter, ascending)``.

    Besides MLflow's keys, ``duration`` (end minus start; unfinished runs last) is accepted.
    """
    SearchUtils = _search_utils()

    out: list[tuple[Callable[[RunRow], Any], bool]] = []
    for clause in order_by:
        duration = _DURATION.match(clause)
        if duration:
            out.append((lambda r: r.duration_s, (duration.group(1) or "ASC").upper() == "ASC"))
            continue
        with mlflow_errors(f"order runs by {clause!r}", ORDER_HINT):
            kind, key, ascending = SearchUtils.parse_order_by_for_search_runs(clause)
        out.append((_order_getter(kind, _ATTR_ALIASES.get(key, key)), ascending))
    return out


def sort_rows(
    rows: list[RunRow], order: list[tuple[Callable[[RunRow], Any], bool]]
) -> list[RunRow]:
    """Sort like MLflow's SQL store: each clause in turn, then values, NaN, missing; stable."""
    for get, ascending in reversed(order):

        def key(row: RunRow, get: Callable[[RunRow], Any] = get, asc: bool = ascending) -> Any:
            value = get(row)
            if value is None:
                rank = 2
            elif isinstance(value, float) and math.isnan(value):
                rank = 1
            else:
                return (0, value)
            # descending sorts are reversed: negate so NaN and missing still come last
            return (rank if asc else -rank, 0)

        rows = sorted(rows, key=key, reverse=not ascending)
    return rows
