"""Recording snapshots on the active MLflow run as dataset inputs.

MLflow is the system of record: ``client.get_run(id).inputs.dataset_inputs``
lists every snapshot a run took or loaded, with its digest, schema, profile and
``mlops://name@vN`` source, and MLflow's UI shows them under "Datasets used".
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SOURCE_TYPE", "log_input", "snapshot_ref", "snapshot_uri"]

SOURCE_TYPE = "mlops-snapshot"


def snapshot_uri(name: str, version: int) -> str:
    """The URI naming one snapshot version, e.g. ``mlops://train@v2``."""
    return f"mlops://{name}@v{version}"


def snapshot_ref(source: str) -> str | None:
    """``train@v2`` from the source of a dataset input :func:`log_input` recorded, else ``None``."""
    try:
        uri = json.loads(source).get("uri")
    except (ValueError, AttributeError):
        return None
    prefix = "mlops://"
    return uri.removeprefix(prefix) if isinstance(uri, str) and uri.startswith(prefix) else None


def log_input(manifest: dict[str, Any], context: str) -> str | None:
    """Log ``manifest`` on the active run, if any; return that run's id.

    Parameters
    ----------
    manifest : dict
        The snapshot's manifest (name, version, digest, schema and profile).
    context : str
        ``mlflow.data.context`` tag value, e.g. ``"snapshot"`` or ``"training"``.
    """
    from ..tracking import api
    from ..tracking.mlflow_bridge.store import mlflow_errors

    tracker = api.tracker()
    run = tracker.active
    if run is None:
        return None
    from mlflow.entities import Dataset, DatasetInput, InputTag

    uri = snapshot_uri(manifest["name"], manifest["version"])
    dataset = Dataset(
        name=manifest["name"],
        digest=manifest["digest"],
        source_type=SOURCE_TYPE,
        source=json.dumps({"uri": uri, "store": manifest.get("store", "")}),
        schema=json.dumps(manifest.get("mlflow_schema", {})),
        profile=json.dumps(manifest.get("profile", {}), default=str),
    )
    tags = [InputTag("mlflow.data.context", context), InputTag("mlops.snapshot", uri)]
    with mlflow_errors(f"record snapshot {uri} on run {run.run_id}"):
        tracker.client.log_inputs(run.run_id, datasets=[DatasetInput(dataset, tags=tags)])
    return run.run_id
