"""What a pipeline step reads about the steps before it: their runs, params, metrics, snapshots.

The orchestrator hands each step the run ids of every step upstream of it (in
``$MLOPS_PIPELINE_UPSTREAM``); cached steps give the runs they reused. So an
``evaluate`` step can pick the best sweep member without parsing any file::

    best = mlops.upstream("train").best("accuracy")
    print(best.run_id, best.params, best.metrics)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, NotFound

__all__ = ["UpstreamRun", "UpstreamRuns", "upstream"]

UPSTREAM_ENV = "MLOPS_PIPELINE_UPSTREAM"


@dataclass(frozen=True)
class UpstreamRun:
    """One finished run of an upstream step (a plain step, or one sweep member).

    Attributes
    ----------
    run_id, step, label : str
        The MLflow run, its step, and ``step[a=1,b=2]`` for a sweep member.
    params : dict
        Parameters, parsed back from MLflow's text (numbers, True/False/None).
    metrics : dict
        Latest value of each metric.
    snapshots : dict
        Snapshots the run took: name -> digest (``load(name)`` reads that exact version).
    status : str
        ``FINISHED``, or ``KILLED`` for a pruned trial, ``FAILED`` for a failed one.
    """

    run_id: str
    step: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict, repr=False)
    status: str = "FINISHED"

    def load(self, name: str) -> Any:
        """Load the version of snapshot ``name`` this run produced."""
        if name not in self.snapshots:
            made = ", ".join(self.snapshots) or "none"
            raise NotFound(
                f"run {self.run_id} ({self.label}) took no snapshot {name!r}; took: {made}"
            )
        from ..data.api import load

        return load(f"{name}@{self.snapshots[name]}")


class UpstreamRuns(list[UpstreamRun]):
    """The runs of one upstream step, in member order."""

    def best(self, metric: str | None = None, mode: str | None = None) -> UpstreamRun:
        """The finished run with the highest (``mode="max"``) or lowest (``"min"``) ``metric``.

        For a searched step both may be omitted: the study's metric and direction are used.

        Examples
        --------
        >>> mlops.upstream("train").best("val_loss", mode="min").params  # doctest: +SKIP
        {'lr': 0.01, 'depth': 4}
        >>> mlops.upstream("tune").best().run_id                          # doctest: +SKIP
        '3c0f...'
        """
        metric, mode = self._objective(metric, mode)
        if mode not in ("max", "min"):
            raise InvalidInput(f"mode must be 'max' or 'min', got {mode!r}")
        scored = [r for r in self if metric in r.metrics and r.status == "FINISHED"]
        if not scored:
            known = sorted({m for r in self for m in r.metrics})
            raise NotFound(
                f"no upstream run logged metric {metric!r}; logged: {', '.join(known) or 'none'}"
            )
        pick = max if mode == "max" else min
        return pick(scored, key=lambda r: r.metrics[metric])

    def _objective(self, metric: str | None, mode: str | None) -> tuple[str, str]:
        """The metric and mode given, else those of the study the runs are trials of."""
        tags = next((r.tags for r in self if "mlops.sweep.metric" in r.tags), {})
        if metric is None:
            if "mlops.sweep.metric" not in tags:
                raise InvalidInput(
                    "name the metric: best('accuracy') (only a searched step knows its own)"
                )
            metric = tags["mlops.sweep.metric"]
        if mode is None:
            mode = "min" if tags.get("mlops.sweep.direction") == "minimize" else "max"
        return metric, mode

    def metric(self, name: str) -> list[float | None]:
        """The value of ``name`` for each run (``None`` where it was not logged)."""
        return [r.metrics.get(name) for r in self]


def _upstream_ids() -> dict[str, list[str]]:
    text = os.environ.get(UPSTREAM_ENV, "").strip()
    if not text:
        raise InvalidInput(
            "mlops.upstream() reads the runs of the steps before this one, so it works inside a "
            "pipeline run (jupyter mlops pipeline run pipeline.yaml), or give pipeline_run=RUN_ID"
        )
    try:
        doc = json.loads(text)
    except ValueError:
        raise InvalidInput(
            f"${UPSTREAM_ENV} is not JSON; it is set by the pipeline runner"
        ) from None
    return {str(k): [str(r) for r in v] for k, v in doc.items()}


def _ids_of_pipeline_run(client: Any, parent: str) -> dict[str, list[str]]:
    from ..tracking.reading.artifact_copy import read_artifact_text
    from .runs import MANIFEST

    doc = json.loads(read_artifact_text(client, parent, MANIFEST))
    out: dict[str, list[str]] = {}
    for unit in doc.get("units", []):
        if unit.get("status") in ("ran", "cached") and unit.get("run_id"):
            out.setdefault(unit["step"], []).append(unit["run_id"])
    return out


def upstream(step: str | None = None, *, pipeline_run: str | None = None) -> UpstreamRuns:
    """The finished runs of upstream ``step`` in this pipeline run (all sweep members).

    Parameters
    ----------
    step : str, optional
        The upstream step; may be omitted when exactly one step is upstream.
    pipeline_run : str, optional
        Read that finished pipeline run instead (for developing a step interactively).

    Examples
    --------
    >>> runs = mlops.upstream("train")          # doctest: +SKIP
    >>> best = runs.best("accuracy")            # doctest: +SKIP
    >>> best.params["max_depth"], best.run_id   # doctest: +SKIP
    (8, '3c0f...')
    """
    from ..headless.parameters import resolve_value
    from ..tracking.api import tracker
    from ..tracking.mlflow_bridge.store import mlflow_errors
    from .cache import snapshots_of

    client = tracker().client
    ids = _ids_of_pipeline_run(client, pipeline_run) if pipeline_run else _upstream_ids()
    if step is None:
        if len(ids) != 1:
            raise InvalidInput(
                f"name the upstream step: mlops.upstream(STEP), STEP in {sorted(ids)}"
            )
        step = next(iter(ids))
    if step not in ids:
        known = ", ".join(ids) or "none"
        raise NotFound(f"{step!r} is not upstream of this step; upstream: {known}")
    runs = UpstreamRuns()
    for run_id in ids[step]:
        with mlflow_errors(f"read run {run_id}"):
            run = client.get_run(run_id)
        produced, _ = snapshots_of(run)
        tags = dict(run.data.tags)
        runs.append(
            UpstreamRun(
                run_id,
                step,
                tags.get("mlops.pipeline.label", step),
                {k: resolve_value(v) for k, v in run.data.params.items()},
                dict(run.data.metrics),
                produced,
                tags,
                run.info.status,
            )
        )
    return runs
