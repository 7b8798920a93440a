"""What travels between the tasks of an exported pipeline: the units known so far.

Each task's output is the state it received (merged from every upstream task) plus what it
did: the parent run, the step runs it opened, its gates' verdicts and its units with their
status, run, cache key and snapshots, everything the next task needs to resolve its step as
the local executor would. It travels as URL-safe base64 of compressed JSON: KFP puts an
upstream output into a downstream task's list input as text, and quotes would break it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from ..units import Unit

__all__ = ["RunState", "decode", "encode", "merge"]


@dataclass
class RunState:
    """The pipeline run as far as a task knows it."""

    parent: str = ""
    experiment_id: str = ""
    #: when the start task began (epoch seconds): the finish task computes the duration
    started: float = 0.0
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    pins: dict[str, dict[str, str]] = field(default_factory=dict)
    step_runs: dict[str, str] = field(default_factory=dict)
    #: steps whose gate ran: step -> refusal, or None when the input passed
    checked: dict[str, str | None] = field(default_factory=dict)
    #: step runs already ended (a searched step's driver ends its own)
    ended: list[str] = field(default_factory=list)

    def record(self, unit: Unit) -> None:
        """Keep ``unit`` as it is now."""
        doc = dataclasses.asdict(unit)
        doc.pop("started", None)
        self.units[unit.id] = doc

    def unit(self, unit_id: str) -> Unit | None:
        """The recorded unit ``unit_id``, if any."""
        doc = self.units.get(unit_id)
        return Unit(**doc) if doc is not None else None


def encode(state: RunState) -> str:
    """The state as a task output."""
    raw = json.dumps(dataclasses.asdict(state), sort_keys=True, default=str).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 6)).decode("ascii")


def decode(text: str) -> RunState:
    """A task output back as a state."""
    try:
        doc = json.loads(zlib.decompress(base64.urlsafe_b64decode(text.strip().encode())))
        return RunState(**doc)
    except (ValueError, TypeError, zlib.error) as exc:
        raise InvalidInput(
            f"not the output of an exported pipeline's task ({type(exc).__name__}); "
            "a kfp-task reads only what the tasks before it wrote"
        ) from None


def merge(states: Iterable[RunState]) -> RunState:
    """One state from several upstream tasks' outputs; a final unit wins over a pending one."""
    out = RunState()
    for state in states:
        out.parent = out.parent or state.parent
        out.experiment_id = out.experiment_id or state.experiment_id
        out.started = out.started or state.started
        for unit_id, doc in state.units.items():
            known = out.units.get(unit_id)
            if known is None or not Unit(**known).done:
                out.units[unit_id] = doc
        for step, pins in state.pins.items():
            out.pins.setdefault(step, pins)
        out.step_runs.update(state.step_runs)
        out.checked.update(state.checked)
        out.ended = sorted({*out.ended, *state.ended})
    return out
