"""What a pipeline run would do, without running anything: the DAG and the cache state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Settings
from .orchestrator import (
    Options,
    RunContext,
    build_units,
    ready_inputs,
    reusable,
    select_scope,
    study_key,
    unit_key,
)
from .spec import PipelineSpec
from .units import Unit

__all__ = ["PipelinePlan", "plan_spec"]

#: planned unit states
CACHED, RUN, WAITS, MISSING = "cached", "would run", "waits on upstream", "missing"


@dataclass
class PipelinePlan:
    """The DAG of a pipeline and, per unit, whether it is cached or would run."""

    spec: PipelineSpec
    units: dict[str, list[Unit]]

    def counts(self) -> dict[str, int]:
        """Units per planned state."""
        out = {CACHED: 0, RUN: 0, WAITS: 0, MISSING: 0}
        for units in self.units.values():
            for unit in units:
                out[unit.status] += 1
        return out

    def text(self) -> str:
        """The DAG as a table, sweep members indented under their step."""
        rows = [("step", "needs", "notebook", "plan")]
        for name, units in self.units.items():
            step = self.spec.steps[name]
            rows.append((name, ", ".join(step.needs) or "-", step.notebook.name, _summary(units)))
            if step.sweep:
                rows.extend((f"  {u.label}", "", "", u.status) for u in units)
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
            for r in rows
        ]
        c = self.counts()
        head = (
            f"pipeline {self.spec.name} ({self.spec.path.name}, experiment "
            f"{self.spec.experiment_name}): {c[CACHED]} cached, {c[RUN]} would run, "
            f"{c[WAITS]} wait on upstream"
        )
        if c[MISSING]:
            head += f", {c[MISSING]} missing (not selected and not cached)"
        return head + "\n" + "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "name": self.spec.name,
            "file": str(self.spec.path),
            "experiment": self.spec.experiment_name,
            "counts": self.counts(),
            "steps": [
                {
                    "step": name,
                    "needs": list(self.spec.steps[name].needs),
                    "notebook": str(self.spec.steps[name].notebook),
                    "sweep": self.spec.steps[name].sweep,
                    "units": [
                        {
                            "label": u.label,
                            "params": u.params,
                            "plan": u.status,
                            "cache_key": u.key,
                            "cached_run_id": u.run_id,
                        }
                        for u in units
                    ],
                }
                for name, units in self.units.items()
            ],
        }

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())


def _summary(units: list[Unit]) -> str:
    states = [u.status for u in units]
    if len(set(states)) == 1:
        return states[0] if len(units) == 1 else f"{len(units)} members, all {states[0]}"
    parts = [f"{states.count(s)} {s}" for s in (CACHED, RUN, WAITS, MISSING) if s in states]
    return f"{len(units)} members: " + ", ".join(parts)


def _plan_study(ctx: RunContext, name: str, key: str) -> None:
    """Trials the stored study holds are cached; the rest would run."""
    from .search.driver import plan_trials

    units = ctx.units[name]
    stored = 0 if ctx.options.force else plan_trials(ctx.settings, ctx.spec.steps[name], units, key)
    for i, unit in enumerate(units):
        unit.key = key
        unit.status = CACHED if i < stored else (RUN if name in ctx.scope else MISSING)


def plan_spec(spec: PipelineSpec, settings: Settings, options: Options) -> PipelinePlan:
    """Decide, as a run would, which units are cached; start nothing, create no run."""
    from ..tracking.mlflow_bridge.store import lazy_client
    from ..tracking.mlflow_tables.run_writes import experiment_for
    from ..tracking.writing.owned_run import MlflowRunWriter
    from .units import PipelineListener

    experiment_id = experiment_for(settings, spec.experiment_name)
    client = lazy_client(settings)
    ctx = RunContext(
        spec,
        settings,
        client,
        MlflowRunWriter(client),  # a plan writes nothing
        experiment_id,
        "",
        options,
        select_scope(spec, options.only, options.from_step),
        build_units(spec),
        PipelineListener(),
    )
    for name, units in ctx.units.items():
        if any(u.status != CACHED for need in spec.steps[name].needs for u in ctx.units[need]):
            for unit in units:
                unit.status = WAITS
            continue
        ready = ready_inputs(ctx, name)
        if spec.steps[name].search:
            _plan_study(ctx, name, study_key(ctx, name, ready))
            continue
        for unit in units:
            unit.key = unit_key(ctx, unit, ready)
            hit = reusable(ctx, unit, ready)
            if hit is not None:
                unit.status, unit.run_id = CACHED, hit.run_id
                unit.produced, unit.loaded = hit.produced, hit.loaded
            else:
                unit.status = RUN if name in ctx.scope else MISSING
    return PipelinePlan(spec, ctx.units)
