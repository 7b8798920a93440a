"""Public validation functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> schema = mlops.data.infer_schema("train@v3")               # doctest: +SKIP
>>> report = mlops.data.validate(new_df, against="train@v3")   # doctest: +SKIP
>>> report.passed, report.anomalies                       # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import InvalidInput
from ..api import SnapshotRef, _frame, open_store
from ..reader import read_snapshot, resolve
from .anomalies import anomalies
from .checks import to_pandera, validate_frame
from .report import ValidationReport, log_validation
from .rules import MAX_CATEGORIES, DataSchema, infer_rules

__all__ = ["DataSchema", "ValidationReport", "infer_schema", "save_schema", "validate"]

#: default widening of the reference's numeric / time range, as a share of that range
DEFAULT_MARGIN = 0.1
_SUFFIX = "schema.json"


def infer_schema(
    data: Any,
    *,
    margin: float = DEFAULT_MARGIN,
    max_categories: int = MAX_CATEGORIES,
    save: bool = True,
    store: str | None = None,
) -> DataSchema:
    """Infer validation rules from a snapshot (saved beside that version) or a frame.

    Per column: dtype, the null share seen, the value range widened by ``margin``
    (a share of the range on each side), the values of low-cardinality columns
    (at most ``max_categories``) and whether it is a key (unique). Edit the
    result with ``schema.edit(...)`` and keep it with :func:`save_schema`.

    Examples
    --------
    >>> schema = mlops.data.infer_schema("train@v3")      # doctest: +SKIP
    >>> schema.edit("age", min=0, max=130)           # doctest: +SKIP
    >>> mlops.data.save_schema(schema)                    # doctest: +SKIP
    """
    manifest, frame = _source(data, store)
    source = f"{manifest['name']}@v{manifest['version']}" if manifest else None
    schema = infer_rules(frame, margin=margin, max_categories=max_categories, source=source)
    if manifest:
        schema.extra["digest"] = manifest["digest"]
        if save:
            save_schema(schema, store=store)
    return schema


def save_schema(schema: DataSchema, ref: str | None = None, *, store: str | None = None) -> str:
    """Save ``schema`` beside snapshot ``ref`` (default: the one it was inferred from).

    ``validate(..., against=ref)`` then uses it instead of inferring. Returns ``name@vN``.
    """
    if not isinstance(schema, DataSchema):
        raise InvalidInput("give the DataSchema that mlops.data.infer_schema returned")
    target = ref or schema.source
    if not target:
        raise InvalidInput(
            "say which snapshot the schema belongs to: save_schema(schema, 'train@v3')"
        )
    the_store = open_store(store)
    manifest = resolve(the_store, target)
    schema.source = f"{manifest['name']}@v{manifest['version']}"
    the_store.write_side(manifest["name"], manifest["version"], _SUFFIX, schema.to_json().encode())
    return schema.source


def saved_schema(manifest: dict[str, Any], store: str | None = None) -> DataSchema | None:
    """The schema saved beside ``manifest``'s version, if any."""
    raw = open_store(store).read_side(manifest["name"], manifest["version"], _SUFFIX)
    return DataSchema.from_dict(json.loads(raw)) if raw else None


def validate(
    data: Any,
    against: Any,
    *,
    margin: float | None = None,
    log: bool = True,
    store: str | None = None,
) -> ValidationReport:
    """Check ``data`` against a snapshot's rules; return the anomalies found.

    Parameters
    ----------
    data : DataFrame, Series, pyarrow Table, numpy array or snapshot ref
    against : str, SnapshotRef, DataSchema or pandera.DataFrameSchema
        A snapshot ref uses the schema saved beside it (see :func:`infer_schema`),
        else rules inferred from it on the fly with ``margin``.
    margin : float, optional
        Range widening when inferring (default 0.1); not allowed with a saved or given schema.
    log : bool
        While a run is active, log ``validation/report.{html,json}``, the metric
        ``validation.anomalies``, and both snapshots as dataset inputs.

    Examples
    --------
    >>> report = mlops.data.validate(new_df, against="train@v3")  # doctest: +SKIP
    >>> report.passed                                         # doctest: +SKIP
    False
    >>> report.anomalies                                      # doctest: +SKIP
    """
    data_manifest, frame = _source(data, store)
    ref_manifest, schema, checker, label = _reference(against, margin, store)
    failures = validate_frame(frame, checker)
    data_ref = f"{data_manifest['name']}@v{data_manifest['version']}" if data_manifest else None
    report = ValidationReport(
        anomalies(failures, frame, checker, schema), len(frame), label, data_ref, schema
    )
    if log:
        inputs = [
            (m, c) for m, c in ((data_manifest, "validation"), (ref_manifest, "reference")) if m
        ]
        log_validation(report, inputs)
    return report


def _source(data: Any, store: str | None) -> tuple[dict[str, Any] | None, Any]:
    """(manifest or None, frame) of a snapshot ref or in-memory data."""
    if isinstance(data, SnapshotRef):
        data = data.ref
    if isinstance(data, str):
        the_store = open_store(store)
        manifest = resolve(the_store, data)
        return manifest, _frame(read_snapshot(the_store, manifest))
    frame = _frame(data)
    # snapshots name columns by text: compare an in-memory frame's columns the same way
    return None, frame.rename(columns=str) if not all(isinstance(c, str) for c in frame) else frame


def _reference(
    against: Any, margin: float | None, store: str | None
) -> tuple[dict[str, Any] | None, DataSchema | None, Any, str]:
    """(manifest, rules, pandera schema, label) of what to validate against."""
    if isinstance(against, DataSchema):
        _no_margin(margin, "a DataSchema")
        return None, against, to_pandera(against), against.source or "schema"
    if type(against).__name__ == "DataFrameSchema" and hasattr(against, "validate"):
        _no_margin(margin, "a pandera schema")
        return None, None, against, getattr(against, "name", None) or "pandera schema"
    if isinstance(against, SnapshotRef):
        against = against.ref
    if not isinstance(against, str):
        raise InvalidInput(
            "against must be a snapshot ref ('train@v3'), a DataSchema from "
            "mlops.data.infer_schema or a pandera DataFrameSchema, "
            f"not {type(against).__name__}"
        )
    manifest = resolve(open_store(store), against)
    schema = saved_schema(manifest, store) if margin is None else None
    if schema is None:
        _, frame = _source(f"{manifest['name']}@v{manifest['version']}", store)
        schema = infer_rules(
            frame,
            margin=DEFAULT_MARGIN if margin is None else margin,
            source=f"{manifest['name']}@v{manifest['version']}",
        )
    return manifest, schema, to_pandera(schema), schema.source or against


def _no_margin(margin: float | None, what: str) -> None:
    if margin is not None:
        raise InvalidInput(f"margin applies to inferred rules; {what} already has its bounds")
