"""Studies without kernels: samplers stay inside the ranges, the stored study resumes, reports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jupyter_mlops.config import load_settings
from jupyter_mlops.pipelines.search.config import PRUNERS, SAMPLERS, SearchConfig
from jupyter_mlops.pipelines.search.report import history_chart, importance_chart, study_summary
from jupyter_mlops.pipelines.search.space import parse_space
from jupyter_mlops.pipelines.search.study import finished_trials, open_study, stored_trials

SPACE = {
    "x": {"low": -2.0, "high": 2.0},
    "lr": {"low": 1e-4, "high": 0.3, "log": True},
    "k": {"low": 1, "high": 9, "step": 2},
    "model": {"choices": ["rf", "gbm"]},
}


def _run(study, trials: int) -> list[dict]:  # type: ignore[no-untyped-def]
    dims = parse_space(SPACE)[0]
    drawn = []
    for _ in range(trials):
        trial = study.ask({n: d.distribution() for n, d in dims.items()})
        assert all(d.contains(trial.params[n]) for n, d in dims.items()), trial.params
        study.tell(trial, -((trial.params["x"] - 0.3) ** 2))
        drawn.append(trial.params)
    return drawn


@pytest.mark.parametrize("method", sorted(SAMPLERS))
def test_every_method_samples_inside_the_declared_ranges(method: str) -> None:
    import optuna

    for pruner in PRUNERS:
        config = SearchConfig(method, 5, "v", "maximize", pruner, seed=1)
        study = optuna.create_study(sampler=config.sampler(), pruner=config.make_pruner())
        _run(study, 5)


def test_stored_study_resumes_without_replaying_seeded_draws(tmp_path: Path) -> None:
    (tmp_path / ".mlops").mkdir()
    settings = load_settings(tmp_path)
    assert settings.root == tmp_path
    config = SearchConfig("random", 3, "v", seed=0)
    first = _run(open_study(settings, "s", config), 3)
    assert stored_trials(settings, "s") and len(stored_trials(settings, "s")) == 3
    later = _run(open_study(settings, "s", dataclasses.replace(config, trials=5)), 2)
    assert not any(p in first for p in later)
    assert len(finished_trials(open_study(settings, "s", config))) == 5
    again = _run(open_study(settings, "t", config), 3)
    assert again == first  # the same seed on a new study draws the same trials
    fresh = open_study(settings, "s", config, fresh=True)
    assert finished_trials(fresh) == []


def test_reports_are_vega_lite_from_the_study() -> None:
    import optuna

    study = optuna.create_study(direction="maximize", sampler=SearchConfig("tpe", 8, "v").sampler())
    _run(study, 8)
    summary = study_summary(study, "v")
    assert summary["best"]["value"] == max(t["value"] for t in summary["trials"])
    chart = history_chart(summary)
    best_so_far = [row["best"] for row in chart["data"]["values"]]
    assert best_so_far == sorted(best_so_far) and best_so_far[-1] == summary["best"]["value"]
    bars = importance_chart(study)
    assert bars is not None and {r["param"] for r in bars["data"]["values"]} == set(SPACE)
    assert all(spec["$schema"].endswith("vega-lite/v5.json") for spec in (chart, bars))
