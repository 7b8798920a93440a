"""Monitoring a registered version on new data: predictions plus drift against its training data.

Each call is one MLflow run tagged with the model version it watched (and the
version is tagged with its latest monitoring run), holding prediction
statistics, the drift metrics and report of the snapshot service, and the
predictions themselves.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..data.lineage import snapshot_ref
from ..errors import InvalidInput
from ..tracking.api import tracker
from ..tracking.mlflow_bridge.store import mlflow_errors
from .lineage import read_lineage, snapshot_inputs
from .loading import load_version, model_copy
from .refs import parse_ref, resolve

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from ..data.drift_report import DriftReport

__all__ = [
    "MonitorResult",
    "log_monitoring",
    "monitoring_history",
    "record_monitoring_run",
    "run_monitor",
    "training_reference",
]

#: version tag pointing at the newest monitoring run
LAST_RUN_TAG = "mlops.monitor.last_run"
#: prefix of the version tags holding one monitoring run (or alert) each, as JSON
HISTORY_TAG = "mlops.monitor.run"


@dataclass
class MonitorResult:
    """What :func:`jupyter_mlops.models.monitor` returns.

    Attributes
    ----------
    model, version : str
    predictions : array-like
        The version's predictions on the new data, row for row.
    drift : DriftReport
        Drift of the new data against the training snapshot.
    reference : str
        The snapshot compared with (``name@vN``).
    run_id : str
        The monitoring run.
    summary : pandas.DataFrame
        ``metric``/``value`` rows: rows scored, prediction statistics, drift share.
    """

    model: str
    version: str
    predictions: Any
    drift: Any
    reference: str
    run_id: str
    summary: pd.DataFrame

    def __str__(self) -> str:
        head = f"monitor {self.model}/{self.version} vs {self.reference} (run {self.run_id})"
        return f"{head}\n{self.summary.to_string(index=False)}\n{self.drift}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def training_reference(client: MlflowClient, version: ModelVersion) -> str:
    """The snapshot a version was trained on: its ``--data`` snapshot, else its run's input."""
    lineage = read_lineage(dict(version.tags))
    training = lineage.get("training_snapshot")
    if training and training.get("ref"):
        return str(training["ref"])
    inputs = snapshot_inputs(client, version.run_id) if version.run_id else []
    ranked = [i for i in inputs if i["context"] == "training"] or inputs
    for item in reversed(ranked):
        ref = snapshot_ref(item["source"])
        if ref:
            return ref
    raise InvalidInput(
        f"{version.name} version {version.version} has no training snapshot to compare with; "
        "register it with --data SNAPSHOT or pass reference='train@v1'"
    )


def features(model: Any, data: Any) -> Any:
    """The columns of ``data`` the model was fitted on, in its order (when it knows them)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(data, "columns"):
        return data
    missing = [str(n) for n in names if n not in data.columns]
    if missing:
        raise InvalidInput(
            f"the new data lacks column(s) {', '.join(missing[:5])} the model was trained on"
        )
    return data[list(names)]


def prediction_stats(predictions: Any) -> dict[str, float]:
    """Rows scored, the share of each class (at most 20 distinct values), mean and std."""
    import pandas as pd

    series = pd.Series(list(predictions) if not hasattr(predictions, "shape") else predictions)
    stats: dict[str, float] = {"rows_scored": float(len(series))}
    if series.nunique() <= 20:
        for value, share in series.value_counts(normalize=True).sort_index().items():
            stats[f"prediction.share.{value}"] = float(share)
    if pd.api.types.is_numeric_dtype(series):
        stats["prediction.mean"] = float(series.mean())
        stats["prediction.std"] = float(series.std(ddof=0))
    return stats


def run_monitor(
    ref: str, data: Any, reference: str | None = None, threshold: float = 0.05
) -> MonitorResult:
    """Score ``data`` with ``ref`` and measure its drift, inside a new monitoring run."""
    from ..data import api as data_api
    from ..data.drift_report import compute_drift

    t = tracker()
    target = parse_ref(ref)
    version = resolve(t.client, target)
    with model_copy(t.client, version, t.settings.tracking_uri) as path:
        model = load_version(path)
    against = reference or training_reference(t.client, version)
    ref_frame = data_api.load(against)  # before the run: it is a reference, not an input
    try:
        predictions = model.predict(features(model, data))
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"{version.name}/{version.version} could not score the new data "
            f"({type(exc).__name__}: {exc}); pass rows with the training columns"
        ) from None
    shared = shared_columns(ref_frame, data)
    report = compute_drift(ref_frame, data, threshold=threshold, columns=shared)
    run_id, stats = log_monitoring(version, str(target), predictions, report, against)
    summary = _summary(stats)
    return MonitorResult(
        version.name, str(version.version), predictions, report, against, run_id, summary
    )


def log_monitoring(
    version: ModelVersion,
    ref: str,
    predictions: Any,
    report: DriftReport | None,
    against: str | None,
    *,
    alert: Mapping[str, Any] | None = None,
    extra: Mapping[str, float] | None = None,
) -> tuple[str, dict[str, float]]:
    """Log one monitoring run of ``version`` and record it on the version.

    The run holds prediction statistics (plus ``extra``), the drift metrics and
    report, and the predictions; ``alert`` (``expression``, ``value``) marks it as
    the run of an alert. Returns the run id and the logged statistics.
    """
    import pandas as pd

    from ..data.drift_report import log_drift

    t = tracker()
    stats = {**prediction_stats(predictions), **(extra or {})}
    tags = {
        "mlops.monitor.model": version.name,
        "mlops.monitor.version": str(version.version),
        "mlops.monitor.ref": ref,
        "mlops.monitor.reference": against or "",
    }
    if alert:
        tags["mlops.monitor.alert"] = str(alert["expression"])
    run = t.start_run(f"monitor {version.name}/{version.version}", tags)
    try:
        t.log_metrics(stats)
        if report is not None:
            log_drift(report)
            stats["drift.share_drifted"] = float(report.share_drifted)
        frame = pd.DataFrame({"prediction": list(predictions)})
        t.log_text(frame.to_csv(index=False), "monitor/predictions.csv")
        t.flush()
    except BaseException:
        t.end_run("FAILED")
        raise
    t.end_run("FINISHED")
    record_monitoring_run(t.client, version, run.run_id, stats, alert)
    return run.run_id, stats


def record_monitoring_run(
    client: MlflowClient,
    version: ModelVersion,
    run_id: str,
    stats: Mapping[str, float],
    alert: Mapping[str, Any] | None = None,
) -> None:
    """Point the version at its newest monitoring run and add one history entry."""
    now = time.time()
    entry: dict[str, Any] = {
        "run_id": run_id,
        "time": now,
        "rows": stats.get("rows_scored"),
        "share_drifted": stats.get("drift.share_drifted"),
    }
    if alert:
        entry.update(alert=str(alert["expression"]), value=alert.get("value"))
    key = f"{HISTORY_TAG}.{int(now * 1000)}.{uuid.uuid4().hex[:6]}"
    where = f"tag {version.name}/{version.version} with its monitoring run"
    with mlflow_errors(where):
        client.set_model_version_tag(version.name, str(version.version), LAST_RUN_TAG, run_id)
        client.set_model_version_tag(version.name, str(version.version), key, json.dumps(entry))


def monitoring_history(tags: Mapping[str, str], limit: int | None = None) -> list[dict[str, Any]]:
    """A version's monitoring runs and alerts from its tags, newest first."""
    entries = []
    for key, value in tags.items():
        if not key.startswith(HISTORY_TAG + "."):
            continue
        try:
            entry = json.loads(value)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("run_id"):
            entries.append(entry)
    entries.sort(key=lambda e: float(e.get("time") or 0), reverse=True)
    return entries[:limit] if limit is not None else entries


def _summary(stats: Mapping[str, float]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"metric": list(stats), "value": list(stats.values())})


def shared_columns(ref_frame: Any, data: Any) -> list[str] | None:
    """Columns both frames have: the training snapshot may hold a target the new data lacks."""
    if not (hasattr(data, "columns") and hasattr(ref_frame, "columns")):
        return None
    known = set(ref_frame.columns)
    shared = [str(c) for c in data.columns if c in known]
    if not shared:
        raise InvalidInput(
            "the new data shares no column with the training snapshot; pass a DataFrame "
            f"with columns like {', '.join(map(str, list(ref_frame.columns)[:5]))}"
        )
    return shared
