"""What the registry and the tracking store know about one version: the generated card's facts.

Nothing here is typed by a person twice: model and version, aliases and the promotion
audit, the source run (notebook, commit, params, metrics), its snapshots (schema,
profile, validation), the evaluation slices, monitoring, dependencies, signature and
input example.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ...tracking.mlflow_bridge.store import mlflow_errors
from ..lineage import read_lineage
from ..loading import model_copy
from ..monitoring_runs import monitoring_history
from ..promote import audit_trail
from .sections import merged

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["gather"]

_EXAMPLE_CHARS = 2000


def gather(client: MlflowClient, version: ModelVersion, tracking_uri: str) -> dict[str, Any]:
    """Every fact a card shows about ``version`` (plain JSON)."""
    tags = dict(version.tags)
    lineage = read_lineage(tags)
    run = _run(client, version.run_id)
    notebook = _notebook(client, run) if run is not None else None
    facts: dict[str, Any] = {
        "model": _model(client, version, lineage),
        "promotions": [
            e for e in audit_trail(client, version.name) if e["version"] == str(version.version)
        ],
        "run": _run_facts(run, lineage) if run is not None else None,
        "snapshots": _snapshots(run, lineage),
        "evaluation": _evaluation(client, run) if run is not None else None,
        "monitoring": monitoring_history(tags, 5),
        "live": _live(version),
        "sections": merged(notebook, tags),
    }
    facts.update(_files(client, version, tracking_uri))
    return facts


def _live(version: ModelVersion) -> list[dict[str, Any]]:
    """Live performance of the version from the prediction log's labelled rows, if any."""
    from ..prediction_log.log import database_path, open_log

    try:
        if not database_path().is_file():
            return []  # nothing served or scored yet: never create the log for a card
        log = open_log(version.name)
        try:
            found = log.performance()
        finally:
            log.close()
    except (MlopsError, OSError):
        return []
    return [
        {"role": p.role, "labels": p.labels, "task": p.task, "metrics": dict(p.metrics)}
        for p in found
        if str(p.version) == str(version.version)
    ]


def _run(client: MlflowClient, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        with mlflow_errors(f"read run {run_id}"):
            return client.get_run(run_id)
    except MlopsError:
        return None  # the source run was deleted: the card says so


def _model(client: MlflowClient, version: ModelVersion, lineage: dict[str, Any]) -> dict:
    with mlflow_errors(f"read model {version.name!r}"):
        aliases = client.get_registered_model(version.name).aliases
    return {
        "name": version.name,
        "version": str(version.version),
        "description": version.description or "",
        "flavor": lineage.get("flavor", ""),
        "created_ms": version.creation_timestamp,
        "aliases": sorted(a for a, v in aliases.items() if str(v) == str(version.version)),
        "model_id": lineage.get("model_id", ""),
    }


def _run_facts(run: Run, lineage: dict[str, Any]) -> dict[str, Any]:
    tags = run.data.tags
    metrics = dict(sorted(run.data.metrics.items()))
    return {
        "run_id": run.info.run_id,
        "name": run.info.run_name or "",
        "experiment_id": str(run.info.experiment_id),
        "user": tags.get("mlflow.user", lineage.get("user", "")),
        "notebook": lineage.get("notebook") or tags.get("mlops.notebook.path", ""),
        "git_commit": lineage.get("git_commit") or tags.get("mlflow.source.git.commit", ""),
        "git_dirty": lineage.get("git_dirty") or tags.get("mlops.git.dirty", ""),
        "params": dict(sorted(run.data.params.items())),
        "metrics": {k: v for k, v in metrics.items() if not k.startswith("eval.")},
        "validation_anomalies": metrics.get("validation.anomalies"),
    }


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def _snapshots(run: Run | None, lineage: dict[str, Any]) -> list[dict[str, Any]]:
    from ...data.lineage import snapshot_ref

    rows = []
    for item in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []:
        ds = item.dataset
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
        rows.append(
            {
                "name": ds.name,
                "ref": snapshot_ref(ds.source),
                "digest": ds.digest,
                "context": context,
                "schema": _json(ds.schema),
                "profile": _json(ds.profile),
            }
        )
    if not rows:  # the run is gone: what the version's tags kept
        rows = [{**s, "ref": None} for s in lineage.get("snapshots", [])]
    return rows


def _evaluation(client: MlflowClient, run: Run) -> dict[str, Any] | None:
    from ..evaluation import SLICES_ARTIFACT

    with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp:
        try:
            path = client.download_artifacts(run.info.run_id, SLICES_ARTIFACT, tmp)
        except Exception:  # no evaluation was logged
            return None
        doc = _json(Path(path).read_text(encoding="utf-8"))
    return doc if isinstance(doc, dict) else None


def _notebook(client: MlflowClient, run: Run) -> dict[str, Any] | None:
    """The training notebook as stored on the run, else the file it was run from."""
    from ...tracking.diff.sides import stored_notebook

    with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp, contextlib.suppress(MlopsError):
        _, doc = stored_notebook(client, run.info.run_id, tmp)
        if doc is not None:
            return doc
    path = run.data.tags.get("mlops.notebook.path")
    if path and Path(path).is_file():
        with contextlib.suppress(OSError, ValueError):
            found = json.loads(Path(path).read_text(encoding="utf-8"))
            return found if isinstance(found, dict) else None
    return None


def _files(client: MlflowClient, version: ModelVersion, tracking_uri: str) -> dict[str, Any]:
    """Signature, input example and requirements from the version's MLmodel folder."""
    import yaml

    out: dict[str, Any] = {"signature": None, "input_example": None, "requirements": []}
    try:
        with model_copy(client, version, tracking_uri) as folder:
            meta = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8")) or {}
            sig = meta.get("signature") or {}
            out["signature"] = {k: _json(sig.get(k)) for k in ("inputs", "outputs") if sig.get(k)}
            example = folder / (meta.get("saved_input_example_info") or {}).get("artifact_path", "")
            if example.is_file():
                out["input_example"] = example.read_text(encoding="utf-8")[:_EXAMPLE_CHARS]
            reqs = folder / "requirements.txt"
            if reqs.is_file():
                lines = reqs.read_text(encoding="utf-8").splitlines()
                out["requirements"] = [ln.strip() for ln in lines if ln.strip()]
    except (MlopsError, OSError, yaml.YAMLError):
        pass  # files unreadable: the card shows what it has
    return out
