"""Where the runs index reads runs: MLflow's SQL tables directly, or ``search_runs``.

The SQL source lives with the other direct SQL on MLflow's tables
(:mod:`jupyter_mlops.tracking.mlflow_tables.index_source`); this module holds the
``search_runs`` source and the registry that picks one by URI scheme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ...mlflow_bridge.store import mlflow_errors
from ...mlflow_tables.contract import fast_path_off
from ...mlflow_tables.index_source import SqlSource, store_mismatch
from ..run_rows import DATASET_CONTEXT_TAG, UNFINISHED, UNINDEXED_TAGS, RunRow

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

log = logging.getLogger("jupyter_mlops")


class Source(Protocol):
    """Where an index reads runs from."""

    def sync(self, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        """Return the current rows, reusing unchanged ``previous`` ones; ``None`` if unchanged."""

    def close(self) -> None:
        """Release connections."""


# -- any tracking server: MLflow's search API ------------------------------------------
class SearchSource:
    """Reads runs with ``search_runs`` ordered by start time, a tracking server's fast path."""

    def __init__(self, client: MlflowClient, experiment_ids: Sequence[str]) -> None:
        self._client = client
        self._exps = list(experiment_ids)

    def close(self) -> None:
        """Nothing to release."""

    def sync(self, previous: dict[str, RunRow], full: bool) -> dict[str, RunRow] | None:
        """Fetch every run when ``full``, else new runs and unfinished ones."""
        if full or not previous:
            return {r.run_id: r for r in self._search("")}
        newest = max(r.start_time for r in previous.values())
        fresh = list(self._search(f"attributes.start_time >= {newest}"))
        open_ids = [rid for rid, r in previous.items() if r.status in UNFINISHED]
        for i in range(0, len(open_ids), 100):
            quoted = ", ".join(f"'{rid}'" for rid in open_ids[i : i + 100])
            fresh.extend(self._search(f"attributes.run_id IN ({quoted})"))
        current = dict(previous)
        changed = False
        for row in fresh:
            old = current.get(row.run_id)
            if old is None or _row_state(old) != _row_state(row):
                current[row.run_id] = row
                changed = True
        return current if changed else None

    def _search(self, filter_string: str) -> Iterable[RunRow]:
        from mlflow.entities import ViewType

        token = None
        while True:
            with mlflow_errors("read runs for the runs index"):
                found = self._client.search_runs(
                    self._exps,
                    filter_string,
                    ViewType.ACTIVE_ONLY,
                    max_results=1000,
                    order_by=["attributes.start_time DESC"],
                    page_token=token,
                )
            yield from (_row_of_run(run) for run in found)
            token = found.token
            if not token:
                return


def _row_state(row: RunRow) -> tuple[Any, ...]:
    return (*row.info_key, row.metrics, row.params, row.tags, row.datasets)


def _row_of_run(run: Any) -> RunRow:
    info, data = run.info, run.data
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    datasets = tuple(
        (
            d.dataset.name,
            d.dataset.digest,
            next((t.value for t in d.tags or [] if t.key == DATASET_CONTEXT_TAG), ""),
        )
        for d in inputs
    )
    return RunRow(
        run_id=info.run_id,
        name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=info.status,
        start_time=info.start_time or 0,
        end_time=info.end_time,
        user_id=info.user_id or "",
        artifact_uri=info.artifact_uri or "",
        metrics=dict(data.metrics),
        params=dict(data.params),
        tags={k: v for k, v in data.tags.items() if k not in UNINDEXED_TAGS},
        datasets=datasets,
    )


#: URI scheme -> factory ``(tracking_uri, experiment_ids, client) -> Source``
_SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SOURCES: dict[str, Callable[[str, Sequence[str], Any], Source]] = {
    scheme: lambda uri, exps, client: SqlSource(uri, exps) for scheme in _SQL_SCHEMES
}


def open_source(uri: str, exps: Sequence[str], client: MlflowClient | None) -> Source:
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    factory = SOURCES.get(scheme)
    if factory is not None:
        reason = store_mismatch(uri) if scheme in _SQL_SCHEMES else None
        if reason is None:
            return factory(uri, exps, client)
        fast_path_off(uri, reason, "the runs index reads runs (search_runs)")
    if client is None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
    return SearchSource(client, exps)


# -- filters and ordering --------------------------------------------------------------
Predicate = Callable[[RunRow], bool]
