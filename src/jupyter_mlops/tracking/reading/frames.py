"""Reading runs back as tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput, NotFound
from ..mlflow_bridge.store import mlflow_errors
from ..mlflow_tables.run_reads import RunRecord

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from mlflow import MlflowClient

__all__ = ["check_max_results", "experiment_ids", "records_frame", "runs_frame"]

FILTER_HINT = (
    "the form is MLflow's search syntax, e.g. \"metrics.acc > 0.8 and params.model = 'rf'\""
)
ORDER_HINT = 'the form is e.g. "metrics.acc DESC" or "attributes.start_time ASC"'


def experiment_ids(client: MlflowClient, names: list[str]) -> list[str]:
    """Return the ids of experiments ``names``, refusing unknown names with the known ones."""
    ids = []
    for name in names:
        with mlflow_errors(f"look up experiment {name!r}"):
            exp = client.get_experiment_by_name(name)
        if exp is None:
            with mlflow_errors("list experiments"):
                known = sorted(e.name for e in client.search_experiments(max_results=50))
            raise NotFound(
                f"no experiment named {name!r}; known: {', '.join(known) or '(none yet)'}"
            )
        ids.append(str(exp.experiment_id))
    return ids


def check_max_results(max_results: Any) -> None:
    """Refuse a page size MLflow would refuse, in our words."""
    if not isinstance(max_results, int) or not 1 <= max_results <= 50_000:
        raise InvalidInput(f"--max must be between 1 and 50000, got {max_results!r}")


def runs_frame(
    client: MlflowClient,
    experiment_ids: list[str],
    filter_string: str = "",
    order_by: list[str] | None = None,
    max_results: int = 100,
) -> pd.DataFrame:
    """Search runs and return one row per run.

    Columns: ``run_id``, ``name``, ``status``, ``start_time``, ``duration_s``, then
    ``metrics.*`` and ``params.*`` (MLflow's naming, so filters and columns match).
    """

    check_max_results(max_results)
    hint = ORDER_HINT if order_by else FILTER_HINT
    with mlflow_errors("search runs", hint):
        runs = client.search_runs(
            experiment_ids,
            filter_string=filter_string or "",
            order_by=order_by or ["attributes.start_time DESC"],
            max_results=max_results,
        )
    records = [
        RunRecord(
            r.info.run_id,
            r.info.run_name,
            r.info.status,
            r.info.start_time,
            r.info.end_time,
            r.data.metrics,
            r.data.params,
        )
        for r in runs
    ]
    return records_frame(records)


def records_frame(records: list[RunRecord]) -> pd.DataFrame:
    """One row per run: ``run_id``, ``name``, ``status``, ``start_time``, ``duration_s``,
    then ``metrics.*`` and ``params.*`` columns (sorted)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for rec in records:
        end = rec.end_time
        row: dict[str, Any] = {
            "run_id": rec.run_id,
            "name": rec.name,
            "status": rec.status,
            "start_time": pd.Timestamp(rec.start_time, unit="ms", tz="UTC"),
            "duration_s": (end - rec.start_time) / 1000 if end else None,
        }
        row.update({f"metrics.{k}": v for k, v in sorted(rec.metrics.items())})
        row.update({f"params.{k}": v for k, v in sorted(rec.params.items())})
        rows.append(row)
    fixed = ["run_id", "name", "status", "start_time", "duration_s"]
    keys = {k for row in rows for k in row if k not in fixed}
    metric_cols = sorted(k for k in keys if k.startswith("metrics."))
    param_cols = sorted(k for k in keys if k.startswith("params."))
    return pd.DataFrame(rows, columns=fixed + metric_cols + param_cols)
