"""The one guard of every direct SQL statement on MLflow's tables: is this store the tested one?

Direct reads and writes (:mod:`.run_writes`, :mod:`.run_reads`, :mod:`.index_source`) rely
on MLflow's private schema. They are taken only when all of this holds, checked here and
nowhere else:

- the installed MLflow is in :data:`TESTED_MLFLOW` (its own write semantics were compared
  row by row with ours on each release of the range: ``tests/integration/test_mlflow_rows.py``
  in every environment of ``make test-compat``);
- each table a statement touches has exactly the columns it was tested with
  (:data:`TABLES`, read with ``PRAGMA table_info`` on SQLite, the SQL inspector elsewhere): a
  later MLflow revision that only adds a column to some other table changes nothing here;
- MLflow workspaces are off (:func:`workspaces_enabled`, the one workspace rule): with them on
  a run belongs to the request's workspace, which only MLflow's server resolves.

When one does not hold, the caller takes MLflow's own path, and :func:`fast_path_off` logs one
warning per store and reason naming it. Reading the version costs no MLflow import.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

__all__ = [
    "TABLES",
    "TESTED_MLFLOW",
    "WORKSPACE",
    "fast_path_off",
    "mismatch",
    "mlflow_version",
    "sqlalchemy_columns",
    "sqlite_columns",
    "workspaces_enabled",
]

#: MLflow releases whose write semantics this package's direct SQL was compared with:
#: ``low <= version < high`` (the compatibility matrix tests both ends)
TESTED_MLFLOW = ((3, 10), (3, 18))

#: columns of each table the direct statements touch, as MLflow's migrations leave them
TABLES: Mapping[str, frozenset[str]] = {
    "experiments": frozenset(
        {
            "experiment_id",
            "name",
            "artifact_location",
            "lifecycle_stage",
            "creation_time",
            "last_update_time",
            "workspace",
        }
    ),
    "runs": frozenset(
        {
            "run_uuid",
            "name",
            "source_type",
            "source_name",
            "entry_point_name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "source_version",
            "lifecycle_stage",
            "artifact_uri",
            "experiment_id",
            "deleted_time",
        }
    ),
    "tags": frozenset({"key", "value", "run_uuid"}),
    "params": frozenset({"key", "value", "run_uuid"}),
    "metrics": frozenset({"key", "value", "timestamp", "run_uuid", "step", "is_nan"}),
    "latest_metrics": frozenset({"key", "value", "timestamp", "step", "is_nan", "run_uuid"}),
    "inputs": frozenset(
        {"input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step"}
    ),
    "input_tags": frozenset({"input_uuid", "name", "value"}),
    "datasets": frozenset(
        {
            "dataset_uuid",
            "experiment_id",
            "name",
            "digest",
            "dataset_source_type",
            "dataset_source",
            "dataset_schema",
            "dataset_profile",
        }
    ),
}

#: the workspace every row of a store without workspaces belongs to
WORKSPACE = "default"
_WORKSPACES_ENV = "MLFLOW_ENABLE_WORKSPACES"

_warned: set[tuple[str, str]] = set()


def workspaces_enabled() -> bool:
    """Whether MLflow workspaces are on in this process (then only MLflow writes and reads)."""
    return os.environ.get(_WORKSPACES_ENV, "").strip().lower() in ("1", "true", "yes")


def _parse(version: str) -> tuple[int, ...]:
    """``(major, minor)`` of a version string: ``3.18.0rc1`` -> ``(3, 18)``."""
    found = re.match(r"(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else ()


def mlflow_version() -> str | None:
    """The installed MLflow's version (from its metadata: no import), ``None`` if missing."""
    try:
        return metadata.version("mlflow")
    except metadata.PackageNotFoundError:
        return None


def _version_problem(version: str | None) -> str | None:
    if version is None:
        return "MLflow is not installed"
    low, high = TESTED_MLFLOW
    if not low <= _parse(version) < high:
        tested = f"{'.'.join(map(str, low))} to {high[0]}.{high[1] - 1}"
        return f"MLflow {version} is outside the tested releases ({tested})"
    return None


def sqlite_columns(conn: sqlite3.Connection) -> Callable[[str], Iterable[str]]:
    """Column names of a table of an SQLite database, from ``PRAGMA table_info``."""

    def columns(table: str) -> Iterable[str]:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]

    return columns


def sqlalchemy_columns(connection: Any) -> Callable[[str], Iterable[str]]:
    """Column names of a table through SQLAlchemy's inspector (any SQL store)."""
    import sqlalchemy as sa

    inspector = sa.inspect(connection)

    def columns(table: str) -> Iterable[str]:
        if not inspector.has_table(table):
            return []
        return [c["name"] for c in inspector.get_columns(table)]

    return columns


def mismatch(
    columns: Callable[[str], Iterable[str]],
    tables: Iterable[str] = TABLES,
    *,
    version: str | None = None,
) -> str | None:
    """Why direct SQL must not touch this store (``None``: it may).

    Parameters
    ----------
    columns : callable
        ``columns(table)`` -> the table's column names (empty when it is missing).
    tables : iterable of str
        The tables the caller's statements touch (default: all of :data:`TABLES`).
    version : str, optional
        The MLflow version to judge (default: the installed one).
    """
    problem = _version_problem(version or mlflow_version())
    if problem is not None:
        return problem
    if workspaces_enabled():
        return f"MLflow workspaces are on ({_WORKSPACES_ENV})"
    for table in tables:
        found = set(columns(table))
        expected = TABLES[table]
        if not found:
            return f"the store has no table {table!r}"
        if found != expected:
            extra, missing = sorted(found - expected), sorted(expected - found)
            change = ", ".join(
                [*(f"new column {c}" for c in extra), *(f"no column {c}" for c in missing)]
            )
            return f"table {table!r} differs from the tested shape ({change})"
    return None


def fast_path_off(store: str, reason: str, what: str) -> None:
    """Warn once per store and reason that ``what`` goes through MLflow, and why."""
    if (store, reason) in _warned:
        return
    _warned.add((store, reason))
    logging.getLogger("jupyter_mlops").warning(
        "jupyter-mlops: %s through MLflow (slower): %s", what, reason
    )
