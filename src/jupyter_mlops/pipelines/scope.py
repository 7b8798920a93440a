"""What a pipeline run consists of: the units of each step, and the steps it may execute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidInput
from .dag import descendants, topological_order
from .sweep import expand, member_label, swept_names
from .units import Unit

if TYPE_CHECKING:  # pragma: no cover
    from .spec import PipelineSpec

__all__ = ["build_units", "select_scope"]


def build_units(spec: PipelineSpec) -> dict[str, list[Unit]]:
    """The units of each step, in topological order (sweeps expanded, one per trial of a study)."""
    out: dict[str, list[Unit]] = {}
    for name in topological_order({s.name: s.needs for s in spec.steps.values()}):
        step = spec.steps[name]
        if step.search is not None:  # parameters come from the study when a slot frees up
            out[name] = [
                Unit(name, i, f"{name}[trial {i + 1}]", dict(step.params))
                for i in range(step.search.trials)
            ]
            continue
        members = expand(step.params, step.sweep)
        swept = swept_names(step.params, step.sweep)
        out[name] = [
            Unit(name, i, f"{name}[{member_label(p, swept)}]" if step.sweep else name, p)
            for i, p in enumerate(members)
        ]
    return out


def select_scope(spec: PipelineSpec, only: tuple[str, ...], from_step: str | None) -> set[str]:
    """Steps that may execute; the rest must come from the cache."""
    graph = {s.name: s.needs for s in spec.steps.values()}
    for name in (*only, *([from_step] if from_step else [])):
        if name not in graph:
            raise InvalidInput(f"no step {name!r} in {spec.path.name}; steps: {', '.join(graph)}")
    if only and from_step:
        raise InvalidInput("give --only or --from, not both")
    if only:
        return set(only)
    if from_step:
        return {from_step} | descendants(graph, [from_step])
    return set(graph)
