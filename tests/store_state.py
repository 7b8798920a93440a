"""A comparable picture of what a user can see in the stores, for "nothing changed" checks."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: tags that change with time alone (liveness), not with what a command did
_VOLATILE_TAGS = ("mlops.heartbeat",)


def store_state(client: Any, data_uri: str) -> dict[str, Any]:
    """Experiments, runs (status, params, metrics, tags), models, aliases and snapshots.

    Pending buffered values are flushed first, so the picture is what the store holds.
    """
    from mlflow.entities import ViewType

    from jupyter_mlops.data.store import SnapshotStore
    from jupyter_mlops.tracking import api

    api.flush()
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000) if ids else []
    snapshots = SnapshotStore(data_uri)
    return {
        "experiments": sorted((e.experiment_id, e.name, e.lifecycle_stage) for e in experiments),
        "runs": sorted(_run(r) for r in runs),
        "models": _models(client),
        "snapshots": {n: snapshots.versions(n) for n in snapshots.names()},
    }


def _run(run: Any) -> tuple[Any, ...]:
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith(_VOLATILE_TAGS)}
    return (
        run.info.run_id,
        run.info.status,
        run.info.lifecycle_stage,
        sorted(run.data.params.items()),
        sorted(run.data.metrics.items()),
        sorted(tags.items()),
    )


def _models(client: Any) -> list[tuple[Any, ...]]:
    out = []
    for model in client.search_registered_models(max_results=1000):
        versions = client.search_model_versions(f"name = '{model.name}'")
        out.append(
            (
                model.name,
                sorted(model.aliases.items()) if isinstance(model.aliases, dict) else [],
                sorted((str(v.version), sorted(v.tags.items())) for v in versions),
            )
        )
    return sorted(out)


@contextlib.contextmanager
def extra_column(db: Path, table: str) -> Iterator[None]:
    """Give ``table`` of the SQLite store ``db`` a column MLflow never made, for the block."""
    with sqlite3.connect(db) as conn:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN mlops_probe TEXT")
    try:
        yield
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN mlops_probe")
