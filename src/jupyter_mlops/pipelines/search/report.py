"""What a searched step's run records about its study.

On the step run: the best trial as params ``best.<name>``, the metric
``best.<metric>`` and tags ``mlops.sweep.best_run_id`` / ``best_trial``; and
artifacts under ``search/``: ``study.json`` (every trial), and Vega-Lite charts
``history.vl.json`` (each trial's value and the best so far) and
``importances.vl.json`` (Optuna's parameter importances). JupyterLab opens
``.vl.json`` files as charts; no JavaScript is added.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .engine import import_optuna
from .study import RUN_ATTR

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from .driver import StudyFeed

__all__ = [
    "history_chart",
    "importance_chart",
    "record_study",
    "study_summary",
    "warm_importances",
]

_VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"


def study_summary(study: Any, metric: str) -> dict[str, Any]:
    """The study as a JSON-ready record: settings, best trial and every trial."""
    trials = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": t.params,
            "run_id": t.user_attrs.get(RUN_ATTR),
            "steps": len(t.intermediate_values),
        }
        for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    ]
    best = _best(study)
    return {
        "study": study.study_name,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "best": None
        if best is None
        else {
            "number": best.number,
            "value": best.value,
            "params": best.params,
            "run_id": best.user_attrs.get(RUN_ATTR),
        },
        "trials": trials,
    }


def _best(study: Any) -> Any:
    try:
        return study.best_trial
    except ValueError:  # no completed trial
        return None


def history_chart(summary: dict[str, Any]) -> dict[str, Any]:
    """Vega-Lite: each completed trial's value by trial number, with the best value so far."""
    pick = max if summary["direction"] == "maximize" else min
    rows, best = [], None
    for trial in summary["trials"]:
        if trial["state"] != "COMPLETE" or trial["value"] is None:
            continue
        best = trial["value"] if best is None else pick(best, trial["value"])
        rows.append({"trial": trial["number"], "value": trial["value"], "best": best})
    x = {"field": "trial", "type": "quantitative", "title": "trial"}
    return {
        "$schema": _VEGA_LITE,
        "title": f"optimization history: {summary['metric']} ({summary['direction']})",
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "point", "filled": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "value", "type": "quantitative", "title": summary["metric"]},
                    "tooltip": [{"field": "trial"}, {"field": "value"}],
                },
            },
            {
                "mark": {"type": "line", "interpolate": "step-after", "color": "#d93025"},
                "encoding": {"x": x, "y": {"field": "best", "type": "quantitative"}},
            },
        ],
    }


def warm_importances() -> None:
    """Import Optuna's importance evaluator on a thread while the trials run.

    It brings scikit-learn (over a second to import) that only the study's record at
    the end needs; imported meanwhile, the step's run ends without that wait.
    """
    threading.Thread(target=_import_importance, name="mlops-warm-importance", daemon=True).start()


def _import_importance() -> None:
    with contextlib.suppress(Exception):  # a failure shows when the chart is made
        import_optuna().importance.FanovaImportanceEvaluator  # noqa: B018 - imports it


def importance_chart(study: Any) -> dict[str, Any] | None:
    """Vega-Lite bars of Optuna's parameter importances; ``None`` with fewer than 2 results."""
    try:
        importances = import_optuna().importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return None  # too few completed trials, or a single distinct value
    rows = [{"param": k, "importance": round(float(v), 6)} for k, v in importances.items()]
    return {
        "$schema": _VEGA_LITE,
        "title": "parameter importances",
        "data": {"values": rows},
        "mark": "bar",
        "encoding": {
            "y": {"field": "param", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "importance", "type": "quantitative"},
        },
    }


def record_study(client: MlflowClient, run_id: str, feed: StudyFeed) -> bool:
    """Log the study on the step run ``run_id``; whether it has a best trial."""
    from mlflow.entities import Metric, Param, RunTag

    from ...tracking.mlflow_bridge.store import mlflow_errors

    metric = feed.config.metric
    summary = study_summary(feed.study, metric)
    best = summary["best"]
    with mlflow_errors(f"record the study on run {run_id}"):
        client.log_text(run_id, json.dumps(summary, indent=2, default=str), "search/study.json")
        client.log_text(run_id, json.dumps(history_chart(summary)), "search/history.vl.json")
        chart = importance_chart(feed.study)
        if chart is not None:
            client.log_text(run_id, json.dumps(chart), "search/importances.vl.json")
        tags = [RunTag("mlops.sweep.study", feed.name), RunTag("mlops.sweep.metric", metric)]
        if best is None:
            client.log_batch(run_id, tags=tags)
            return False
        tags += [
            RunTag("mlops.sweep.best_trial", str(best["number"])),
            RunTag("mlops.sweep.best_run_id", str(best["run_id"] or "")),
        ]
        params = [Param(f"best.{k}", str(v)) for k, v in best["params"].items()]
        value = float(best["value"])
        metrics = (
            [Metric(f"best.{metric}", value, int(time.time() * 1000), 0)]
            if math.isfinite(value)
            else []
        )
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    return True
