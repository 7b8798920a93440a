"""The ``sweep:`` mapping of a searched step: method, trials, metric, direction, pruner, seed.

Samplers and pruners are registries (name -> factory), so another method is a
new entry, not a new branch.

Examples
--------
>>> config, problems = parse_sweep(
...     {"method": "tpe", "trials": 20, "metric": "accuracy", "direction": "maximize"}
... )
>>> config.method, config.trials, problems
('tpe', 20, [])
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .engine import import_optuna

__all__ = [
    "GRID_METHODS",
    "METHODS",
    "PRUNERS",
    "SAMPLERS",
    "SearchConfig",
    "parse_sweep",
    "tpe_startup_trials",
]

#: methods expanding list-valued params into members (no study)
GRID_METHODS = ("grid", "zip")
SWEEP_KEYS = ("method", "trials", "metric", "direction", "pruner", "seed")
DIRECTIONS = ("maximize", "minimize")


def _tpe(config: SearchConfig) -> Any:
    # Optuna's default of 10 random trials before modelling would use a small study up.
    # Multivariate (one joint model of the parameters) is Optuna 5's default; said here for 4.
    optuna = import_optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=config.seed,
            n_startup_trials=tpe_startup_trials(config.trials),
            multivariate=True,
        )


def tpe_startup_trials(trials: int) -> int:
    """Random trials before TPE models the results: a quarter of the budget, 2 to 10."""
    return max(2, min(10, trials // 4))


def _cmaes(config: SearchConfig) -> Any:
    return import_optuna().samplers.CmaEsSampler(seed=config.seed, warn_independent_sampling=False)


def _random(config: SearchConfig) -> Any:
    return import_optuna().samplers.RandomSampler(seed=config.seed)


def _qmc(config: SearchConfig) -> Any:
    optuna = import_optuna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since 3
        return optuna.samplers.QMCSampler(seed=config.seed, warn_independent_sampling=False)


def _median(config: SearchConfig) -> Any:
    return import_optuna().pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def _halving(config: SearchConfig) -> Any:
    return import_optuna().pruners.SuccessiveHalvingPruner()


def _hyperband(config: SearchConfig) -> Any:
    return import_optuna().pruners.HyperbandPruner()


def _none(config: SearchConfig) -> Any:
    return import_optuna().pruners.NopPruner()


#: method -> ``factory(config) -> optuna sampler``
SAMPLERS: dict[str, Callable[[SearchConfig], Any]] = {
    "random": _random,
    "tpe": _tpe,
    "cmaes": _cmaes,
    "qmc": _qmc,
}
#: pruner name -> ``factory(config) -> optuna pruner``
PRUNERS: dict[str, Callable[[SearchConfig], Any]] = {
    "none": _none,
    "median": _median,
    "successive_halving": _halving,
    "hyperband": _hyperband,
}
METHODS = (*GRID_METHODS, *SAMPLERS)


@dataclass(frozen=True)
class SearchConfig:
    """How a study searches: its sampler, budget, objective and pruner."""

    method: str
    trials: int
    metric: str
    direction: str = "maximize"
    pruner: str = "none"
    seed: int | None = None

    def sampler(self) -> Any:
        """A new Optuna sampler for this method."""
        return SAMPLERS[self.method](self)

    def make_pruner(self) -> Any:
        """A new Optuna pruner."""
        return PRUNERS[self.pruner](self)

    def identity(self) -> str:
        """What the study's key depends on: everything but ``trials`` (raising it resumes)."""
        doc = {k: v for k, v in asdict(self).items() if k != "trials"}
        return json.dumps(doc, sort_keys=True)


def parse_sweep(raw: Mapping[str, Any]) -> tuple[SearchConfig | None, list[str]]:
    """Read a ``sweep:`` mapping of a search method; ``(config, problems)``."""
    problems: list[str] = []
    extra = sorted(str(k) for k in raw if k not in SWEEP_KEYS)
    if extra:
        problems.append(
            f"unknown key(s) {', '.join(extra)} in sweep; valid keys: {', '.join(SWEEP_KEYS)}"
        )
    method = raw.get("method")
    if method not in METHODS:
        problems.append(f"sweep method {method!r} is not known; use one of {', '.join(METHODS)}")
    pruner = raw.get("pruner", "none")
    pruner = "none" if pruner is None else pruner
    if pruner not in PRUNERS:
        problems.append(f"pruner {pruner!r} is not known; use one of {', '.join(PRUNERS)}")
    trials: Any = raw.get("trials")
    metric: Any = raw.get("metric")
    if not (isinstance(trials, int) and not isinstance(trials, bool) and trials >= 1):
        problems.append(
            f"sweep needs 'trials:' a whole number >= 1, e.g. trials: 20 (got {trials!r})"
        )
    if not (isinstance(metric, str) and metric.strip()):
        problems.append(
            "sweep needs 'metric:' naming the metric to optimize, e.g. metric: accuracy"
        )
    direction = raw.get("direction", "maximize")
    if direction not in DIRECTIONS:
        problems.append(f"direction {direction!r} is not known; use maximize or minimize")
    seed = raw.get("seed")
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool)):
        problems.append(f"seed must be a whole number, e.g. seed: 0 (got {seed!r})")
    if problems:
        return None, problems
    return SearchConfig(
        str(method), int(trials), str(metric), str(direction), str(pruner), seed
    ), []
