"""Reproduce a pipeline run: every unit run it holds, re-executed as ``reproduce`` does.

A unit run pins the snapshots it read, and is handed the original runs of the steps upstream
of it (``mlops.upstream``), so each unit is re-executed on exactly its own inputs, one after
the other in the order of the parent's ``pipeline.json``, and compared with its original.
With ``isolated=True`` each distinct environment among the unit runs is rebuilt (or found in
the cache) first, once per distinct lock: a lock that cannot be installed stops the whole
reproduction before any notebook executes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import InvalidInput, MlopsError, NotFound
from ..headless.api import (
    ProgressCallback,
    ReproduceReport,
    check_tolerances,
    isolated_environment,
    reproduce_run,
)
from ..tracking.mlflow_bridge.store import mlflow_errors, open_client
from .dag import ancestors
from .runs import MANIFEST, NAME_TAG, ROLE_TAG
from .upstream import UPSTREAM_ENV

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from ..headless.api import IsolatedEnv

__all__ = ["PipelineReproduceReport", "is_pipeline_run", "reproduce_pipeline_run"]


@dataclass
class EnvironmentUse:
    """One distinct environment of the unit runs: how it was had and which units ran in it."""

    env: IsolatedEnv
    units: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {**self.env.to_dict(), "units": self.units}


@dataclass
class PipelineReproduceReport:
    """Outcome of :func:`reproduce_pipeline_run`: one report per unit run."""

    pipeline_run_id: str
    name: str
    #: (unit label, its reproduction)
    units: list[tuple[str, ReproduceReport]] = field(default_factory=list)
    #: (unit label, why it was not reproduced)
    not_reproduced: list[tuple[str, str]] = field(default_factory=list)
    #: with ``isolated``: each distinct environment, in the order first needed
    environments: list[EnvironmentUse] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every unit reproduced ran to the end and matched every metric."""
        return bool(self.units) and all(r.ok for _, r in self.units)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``jupyter mlops reproduce PIPELINE_RUN --json``)."""
        return {
            "pipeline_run_id": self.pipeline_run_id,
            "name": self.name,
            "ok": self.ok,
            "units": [{"label": label, **r.to_dict()} for label, r in self.units],
            "not_reproduced": [{"label": label, "why": why} for label, why in self.not_reproduced],
            "environments": [e.to_dict() for e in self.environments] or None,
        }

    def table(self) -> str:
        """One line per unit, the environments, then what differed in units that did not match."""
        rows = [("unit", "original", "reproduced", "metrics", "result")]
        for label, r in self.units:
            matched = sum(c.ok for c in r.checks)
            rows.append(
                (
                    label,
                    r.original_run_id,
                    r.run_id,
                    f"{matched} of {len(r.checks)} match",
                    "REPRODUCED" if r.ok else f"NOT REPRODUCED ({r.result.status})",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines += [f"not reproduced: {label} ({why})" for label, why in self.not_reproduced]
        lines += self._environment_lines()
        for label, r in self.units:
            if not r.ok:
                lines += ["", f"{label}:", *(f"  {ln}".rstrip() for ln in r.table().splitlines())]
        verdict = "REPRODUCED" if self.ok else "NOT REPRODUCED"
        done = sum(r.ok for _, r in self.units)
        lines.append(
            f"{verdict}: pipeline run {self.pipeline_run_id} ({self.name}), {done} of "
            f"{len(self.units)} unit run(s) reproduced"
        )
        return "\n".join(lines)

    def _environment_lines(self) -> list[str]:
        if not self.environments:
            return []
        count = sum(len(e.units) for e in self.environments)
        lines = [
            f"environments: {len(self.environments)} distinct lock(s) among {count} unit run(s)"
        ]
        for use in self.environments:
            env = use.env
            how = "reused from the cache:" if env.reused else f"built in {env.seconds:.1f} s:"
            lines.append(f"  {env.key} ({how} {', '.join(use.units)})")
            lines += [f"    uv: {line}" for line in env.uv_figures]
            lines += [f"    skipped (--allow-missing): {u}" for u in env.skipped]
        return lines


def is_pipeline_run(run_id: str, settings: Settings | None = None) -> bool:
    """Whether ``run_id`` is the parent run of a pipeline run (False for any other run)."""
    client = open_client(settings or load_settings())
    with mlflow_errors(f"read run {run_id}", "give a run id from `jupyter mlops runs`"):
        run = client.get_run(run_id)
    return run.data.tags.get(ROLE_TAG) == "parent"


def reproduce_pipeline_run(
    run_id: str,
    *,
    rtol: float,
    atol: float,
    isolated: bool = False,
    allow_missing: bool = False,
    find_links: Sequence[str] = (),
    progress: Callable[[str], ProgressCallback | None] | None = None,
    settings: Settings | None = None,
) -> PipelineReproduceReport:
    """Reproduce every unit run of pipeline run ``run_id`` and compare each with its original.

    Parameters
    ----------
    run_id : str
        The pipeline's parent run.
    rtol, atol, isolated, allow_missing, find_links
        As for :func:`~jupyter_mlops.headless.reproduce.reproduce_run`, for each unit.
    progress : callable, optional
        Unit label -> the progress callback of that unit's execution.

    Raises
    ------
    NotFound
        The run is not a finished pipeline run (no ``pipeline.json``), or it has no unit run
        to reproduce; with ``isolated``, a unit's environment cannot be rebuilt.
    """
    check_tolerances(rtol, atol)
    settings = settings or load_settings()
    client = open_client(settings)
    with mlflow_errors(f"read run {run_id}", "give a run id from `jupyter mlops runs`"):
        parent = client.get_run(run_id)
    if parent.data.tags.get(ROLE_TAG) != "parent":
        raise InvalidInput(
            f"run {run_id} is not a pipeline run (no {ROLE_TAG}=parent tag); give the parent run "
            "of a pipeline run, from `jupyter mlops runs`"
        )
    units = _units(client, run_id)
    report = PipelineReproduceReport(run_id, parent.data.tags.get(NAME_TAG, ""))
    todo = []
    for unit in units:
        if unit.get("status") in ("ran", "cached") and unit.get("run_id"):
            todo.append(unit)
        else:
            report.not_reproduced.append((str(unit.get("label")), _why(unit)))
    if not todo:
        raise NotFound(f"pipeline run {run_id} has no finished unit run to reproduce")
    if isolated:
        report.environments = _environments(todo, settings, allow_missing, find_links)
    upstream = _upstream_runs(client, run_id, parent.data.tags, units)
    for unit in todo:
        label = str(unit["label"])
        env = {UPSTREAM_ENV: json.dumps(upstream.get(str(unit.get("step")), {}))}
        unit_report = reproduce_run(
            str(unit["run_id"]),
            rtol=rtol,
            atol=atol,
            progress=progress(label) if progress else None,
            settings=settings,
            isolated=isolated,
            allow_missing=allow_missing,
            find_links=find_links,
            env=env,
        )
        report.units.append((label, unit_report))
    return report


def _why(unit: dict[str, Any]) -> str:
    status = unit.get("status")
    if status in ("ran", "cached"):
        return "the pipeline recorded no run for it"
    return f"it {status} in the original run" if status else "it has no status"


def _units(client: MlflowClient, run_id: str) -> list[dict[str, Any]]:
    """The units ``pipeline.json`` lists, in its order."""
    from ..tracking.reading.artifact_copy import read_artifact_text

    try:
        doc = json.loads(read_artifact_text(client, run_id, MANIFEST))
        units = [u for u in doc["units"] if isinstance(u, dict)]
    except MlopsError:
        raise NotFound(
            f"pipeline run {run_id} has no {MANIFEST}: it is still running or stopped before "
            "its end; reproduce its unit runs one by one (jupyter mlops reproduce UNIT_RUN)"
        ) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise NotFound(f"{MANIFEST} of pipeline run {run_id} cannot be read: {exc}") from None
    return units


def _environments(
    units: list[dict[str, Any]], settings: Settings, allow_missing: bool, find_links: Sequence[str]
) -> list[EnvironmentUse]:
    """Rebuild (or find) each distinct environment once, before anything executes."""
    found: dict[str, EnvironmentUse] = {}
    for unit in units:
        env = isolated_environment(
            str(unit["run_id"]), settings, allow_missing=allow_missing, find_links=find_links
        )
        found.setdefault(env.key, EnvironmentUse(env)).units.append(str(unit["label"]))
    return list(found.values())


def _upstream_runs(
    client: MlflowClient, run_id: str, tags: dict[str, str], units: list[dict[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """Step -> what ``mlops.upstream`` gave it: every step it needs, directly or not, and runs."""
    graph = _graph(client, run_id, tags)
    runs: dict[str, list[str]] = {}
    for unit in units:
        if unit.get("run_id"):
            runs.setdefault(str(unit.get("step")), []).append(str(unit["run_id"]))
    return {step: {a: runs.get(a, []) for a in sorted(ancestors(graph, [step]))} for step in graph}


def _graph(client: MlflowClient, run_id: str, tags: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Each step's ``needs``, from the ``pipeline.yaml`` logged on the parent run."""
    import yaml

    from ..tracking.reading.artifact_copy import read_artifact_text

    name = (tags.get("mlops.pipeline.file") or "pipeline.yaml").replace("\\", "/").split("/")[-1]
    try:
        steps = yaml.safe_load(read_artifact_text(client, run_id, name))["steps"]
    except (MlopsError, yaml.YAMLError, TypeError, KeyError):
        return {}  # then no unit sees an upstream run, as a unit run reproduced alone
    graph = {}
    for step, body in steps.items() if isinstance(steps, dict) else ():
        needs = body.get("needs") or [] if isinstance(body, dict) else []
        graph[str(step)] = tuple(str(n) for n in ([needs] if isinstance(needs, str) else needs))
    return graph
