"""Monitoring a registered version on new data: predictions plus drift against its training data.

Each call is one MLflow run tagged with the model version it watched (and the
version is tagged with its latest monitoring run), holding prediction
statistics, the drift metrics and report of the snapshot service, and the
predictions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..data.lineage import snapshot_ref
from ..errors import InvalidInput
from ..tracking.api import tracker
from ..tracking.store import mlflow_errors
from .lineage import read_lineage, snapshot_inputs
from .loading import load_version, local_model_dir
from .refs import parse_ref, resolve

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["MonitorResult", "run_monitor", "training_reference"]

#: version tag pointing at the newest monitoring run
LAST_RUN_TAG = "mlops.monitor.last_run"


@dataclass
class MonitorResult:
    """What :func:`jupyter_mlops.monitor` returns.

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


def _features(model: Any, data: Any) -> Any:
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(data, "columns"):
        return data
    missing = [str(n) for n in names if n not in data.columns]
    if missing:
        raise InvalidInput(
            f"the new data lacks column(s) {', '.join(missing[:5])} the model was trained on"
        )
    return data[list(names)]


def _prediction_stats(predictions: Any) -> dict[str, float]:
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

    t = tracker()
    target = parse_ref(ref)
    version = resolve(t.client, target)
    model = load_version(local_model_dir(t.client, version, t.settings.tracking_uri))
    against = reference or training_reference(t.client, version)
    ref_frame = data_api.load(against)  # before the run: it is a reference, not an input
    try:
        predictions = model.predict(_features(model, data))
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"{version.name}/{version.version} could not score the new data "
            f"({type(exc).__name__}: {exc}); pass rows with the training columns"
        ) from None
    tags = {
        "mlops.monitor.model": version.name,
        "mlops.monitor.version": str(version.version),
        "mlops.monitor.ref": str(target),
        "mlops.monitor.reference": against,
    }
    run = t.start_run(f"monitor {version.name}/{version.version}", tags)
    try:
        result = _record(t, version, run.run_id, data, ref_frame, predictions, against, threshold)
    except BaseException:
        t.end_run("FAILED")
        raise
    t.end_run("FINISHED")
    with mlflow_errors(f"tag {version.name}/{version.version} with its monitoring run"):
        t.client.set_model_version_tag(version.name, str(version.version), LAST_RUN_TAG, run.run_id)
    return result


def _record(
    t: Any, version: Any, run_id: str, data: Any, ref_frame: Any,
    predictions: Any, against: str, threshold: float,
) -> MonitorResult:  # fmt: skip
    import pandas as pd

    from ..data import api as data_api

    stats = _prediction_stats(predictions)
    shared = _shared_columns(ref_frame, data)
    report = data_api.drift(ref_frame, data, threshold=threshold, columns=shared)
    stats["drift.share_drifted"] = float(report.share_drifted)
    t.log_metrics(stats)
    frame = pd.DataFrame({"prediction": list(predictions)})
    t.log_text(frame.to_csv(index=False), "monitor/predictions.csv")
    t.flush()
    summary = pd.DataFrame({"metric": list(stats), "value": list(stats.values())})
    return MonitorResult(
        version.name, str(version.version), predictions, report, against, run_id, summary
    )


def _shared_columns(ref_frame: Any, data: Any) -> list[str] | None:
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
