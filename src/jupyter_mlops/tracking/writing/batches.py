"""Writing buffered values to a store, and to the journal when the store is away."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ..mlflow_bridge.store import mlflow_errors, open_client
from .journal import Journal
from .log_buffer import Batch, count_values

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["apply_record", "journal_batches", "send_batch"]

log = logging.getLogger("jupyter_mlops")

#: (run_id, status, end_time_ms) of a run's end that could not reach the store
RunEnd = tuple[str, str, int]


def send_batch(client: MlflowClient, run_id: str, metrics: list, params: list, tags: list) -> None:
    """Write one batch of values with ``log_batch`` (raises our errors)."""
    from mlflow.entities import Metric, Param, RunTag

    with mlflow_errors(f"write to run {run_id}"):
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, step) for k, v, ts, step in metrics],
            params=[Param(k, v) for k, v in params],
            tags=[RunTag(k, v) for k, v in tags],
            synchronous=True,
        )


def journal_batches(
    journal: Journal, tracking_uri: str, batches: list[Batch], end: RunEnd | None = None
) -> None:
    """Save values (and a run's end) to the journal, with one warning saying how to replay."""
    path = journal.write(tracking_uri, batches, end)
    if path is None:
        return
    what = f"{count_values(batches)} values"
    if end is not None:
        what += f" and the end of run {end[0]} ({end[1]})"
    log.warning(
        "jupyter-mlops: tracking store unreachable; %s saved to %s. "
        "Run `jupyter mlops sync` when it is back.",
        what,
        path,
    )


def apply_record(settings: Settings, tracking_uri: str, record: dict[str, Any]) -> None:
    """Write one journal record to the store it was bound to."""
    client = open_client(replace(settings, tracking_uri=tracking_uri))
    run_id = record["run_id"]
    if "end" in record:
        with mlflow_errors(f"end run {run_id}"):
            client.set_terminated(run_id, status=record["end"], end_time=record["end_time"])
        return
    metrics, params, tags = record["metrics"], record["params"], record["tags"]
    for start in range(0, max(len(metrics), len(params), len(tags)), 100):
        chunk = slice(start, start + 100)
        send_batch(client, run_id, metrics[chunk], params[chunk], tags[chunk])
