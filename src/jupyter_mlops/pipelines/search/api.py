"""``mlops.search``: a searched sweep of one notebook, from a cell, run like a pipeline step.

The call is written down as a one-step ``pipeline.yaml`` in
``<root>/.mlops/searches/`` (logged on the run, re-runnable with ``jupyter
mlops pipeline run``), so it is validated, cached, stored and resumed exactly
like a ``sweep: {method: ...}`` step: calling it again continues the study.

Examples
--------
>>> result = mlops.search(                                    # doctest: +SKIP
...     "train.ipynb",
...     params={"lr": {"low": 1e-4, "high": 0.3, "log": True}, "model": {"choices": ["rf", "gbm"]}},
...     sweep={"method": "tpe", "trials": 20, "metric": "accuracy", "pruner": "median"},
...     jobs=2,
... )
>>> result.best.params, result.best.value, result.best.run_id  # doctest: +SKIP
({'lr': 0.012, 'model': 'gbm'}, 0.93, '5e1c...')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import Settings, load_settings
from ...errors import InvalidInput
from ..units import PipelineListener, PipelineResult, Unit

__all__ = ["BestTrial", "SearchResult", "search"]


@dataclass(frozen=True)
class BestTrial:
    """The best finished trial: its label, parameters, objective value and MLflow run."""

    label: str
    params: dict[str, Any]
    value: float
    run_id: str


@dataclass
class SearchResult:
    """Outcome of :func:`search`: every trial (``.trials``), the best one, the pipeline run."""

    pipeline: PipelineResult
    metric: str
    best: BestTrial | None

    @property
    def ok(self) -> bool:
        """True when no trial failed."""
        return self.pipeline.ok

    @property
    def trials(self) -> list[Unit]:
        """One unit per trial: params, status (ran, cached, pruned, failed), run id."""
        return self.pipeline.units

    def table(self) -> str:
        """The trials' table, then the best trial."""
        if self.best is None:
            return self.pipeline.table() + f"\nno trial finished with a {self.metric!r}"
        b = self.best
        return (
            f"{self.pipeline.table()}\nbest: {b.label}  {self.metric} = {b.value:.6g}  "
            f"(run {b.run_id})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.table())


def _name(notebook: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", notebook.stem)[:64]
    return name if re.match(r"^[A-Za-z0-9_]", name) else f"n{name}"[:64]


def _document(
    notebook: Path, params: Mapping[str, Any], sweep: Mapping[str, Any], experiment: str
) -> dict[str, Any]:
    step = {"notebook": str(notebook), "params": dict(params), "sweep": dict(sweep)}
    return {"name": _name(notebook), "experiment": experiment, "steps": {_name(notebook): step}}


def search(
    notebook: str | os.PathLike[str],
    params: Mapping[str, Any],
    sweep: Mapping[str, Any],
    *,
    jobs: int | None = None,
    executor: str = "local",
    experiment: str | None = None,
    force: bool = False,
    listener: PipelineListener | None = None,
    settings: Settings | None = None,
) -> SearchResult:
    """Search a notebook's parameters with an Optuna study; each trial a fresh kernel and run.

    Parameters
    ----------
    notebook : path-like
        The notebook; its ``parameters`` cell must define every name in ``params``.
    params : mapping
        ``{low, high, log, step}`` ranges, ``{choices: [...]}`` and fixed values.
    sweep : mapping
        ``method`` (random, tpe, cmaes, qmc), ``trials``, ``metric``, ``direction``
        (maximize), ``pruner`` (none, median, successive_halving, hyperband), ``seed``.
    jobs, executor : optional
        Trials at once; ``local`` or ``dask://HOST:PORT``.
    experiment : str, optional
        Default: the configured experiment, else the notebook's name.
    force : bool
        Start the study over instead of continuing the stored one.

    Returns
    -------
    SearchResult
        ``.best`` (label, params, value, run_id), ``.trials``, ``.table()``.
    """
    import yaml

    from ..orchestrator import Options, run_spec
    from ..spec import build_spec

    path = Path(notebook).expanduser().resolve()
    if not isinstance(params, Mapping) or not isinstance(sweep, Mapping):
        raise InvalidInput("give params={name: range or value} and sweep={method: ..., ...}")
    settings = settings or load_settings(path.parent)
    doc = _document(path, params, sweep, experiment or settings.experiment or path.stem)
    file = settings.store_dir / "searches" / f"{_name(path)}.yaml"
    spec = build_spec(doc, file)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = run_spec(spec, settings, Options(jobs, executor, force=force), listener)
    step = next(iter(spec.steps.values()))
    if step.search is None:
        raise ValueError(f"step {step.name!r} of the search pipeline has no search")
    return SearchResult(result, step.search.metric, _best(result, step.search, settings))


def _best(result: PipelineResult, config: Any, settings: Settings) -> BestTrial | None:
    from ...tracking.writing.tracker import Tracker

    client = Tracker(settings).client
    scored = []
    for unit in result.units:
        if unit.status in ("ran", "cached") and unit.run_id:
            run = client.get_run(unit.run_id)
            value = run.data.metrics.get(config.metric)
            if run.info.status == "FINISHED" and value is not None:
                scored.append((value, unit))
    if not scored:
        return None
    pick = max if config.direction == "maximize" else min
    value, unit = pick(scored, key=lambda pair: pair[0])
    return BestTrial(unit.label, dict(unit.params), float(value), str(unit.run_id))
