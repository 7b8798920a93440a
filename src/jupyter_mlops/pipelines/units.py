"""Units of a pipeline run (a step, or one member of a sweep) and the run's outcome."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PipelineListener", "PipelineResult", "Unit"]

#: unit states; the last five are final (``pruned``: a trial its study stopped early)
STATES = ("pending", "queued", "running", "ran", "cached", "failed", "skipped", "pruned")
FINAL = ("ran", "cached", "failed", "skipped", "pruned")
#: final states that count as success
OK = ("ran", "cached", "pruned")


@dataclass
class Unit:
    """One execution of a notebook within a pipeline run.

    Attributes
    ----------
    step : str
        The step it belongs to.
    label : str
        ``step`` for a plain step, ``step[a=1,b=2]`` for a sweep member.
    params : dict
        Parameters injected into the notebook.
    status : str
        ``pending``, ``queued``, ``running``, then ``ran``, ``cached``, ``failed``, ``skipped``
        or ``pruned`` (a trial of a searched step stopped early by its pruner).
    run_id : str or None
        The MLflow run holding its result (for ``cached``, the reused run).
    key : str or None
        Its cache key, once known.
    message : str
        Why it failed or was skipped; where a cached result came from.
    metrics : dict
        The last value of each metric its run logged, once it ran (read with the run).
    """

    step: str
    index: int
    label: str
    params: dict[str, Any]
    status: str = "pending"
    run_id: str | None = None
    key: str | None = None
    message: str = ""
    detail: str = ""
    produced: dict[str, str] = field(default_factory=dict)
    loaded: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    started: float | None = None
    duration_s: float = 0.0

    @property
    def id(self) -> str:
        """Unique within a run: ``step.index``."""
        return f"{self.step}.{self.index}"

    @property
    def identity(self) -> str:
        """Same across pipeline runs for the same step and parameters (used by ``--resume``)."""
        return self.step + ":" + json.dumps(self.params, sort_keys=True, default=str)

    @property
    def result_key(self) -> str:
        """Its key plus the snapshots it read and took: what downstream keys depend on."""
        doc = json.dumps([self.key, self.loaded, self.produced], sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()[:40]

    @property
    def done(self) -> bool:
        """Whether the unit reached a final state."""
        return self.status in FINAL

    @property
    def elapsed_s(self) -> float:
        """Seconds spent so far (running) or in total."""
        if self.status == "running" and self.started is not None:
            return time.monotonic() - self.started
        return self.duration_s

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "step": self.step,
            "label": self.label,
            "params": self.params,
            "status": self.status,
            "run_id": self.run_id,
            "cache_key": self.key,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "produced_snapshots": self.produced,
            "loaded_snapshots": self.loaded,
        }


class PipelineListener:
    """Receives the progress of a pipeline run, always on the thread that called it."""

    def started(self, units: list[Unit], parent_run_id: str) -> None:
        """Every unit is known and the parent run exists."""

    def update(self, unit: Unit) -> None:
        """``unit`` changed state, or reported progress (``unit.detail``)."""

    def finished(self, result: PipelineResult) -> None:
        """The run is over."""


@dataclass
class PipelineResult:
    """Outcome of a pipeline run."""

    name: str
    parent_run_id: str
    experiment_id: str
    units: list[Unit]
    duration_s: float = 0.0
    executor: str = "local"

    @property
    def ok(self) -> bool:
        """True when nothing failed or was skipped."""
        return all(u.status in OK for u in self.units)

    @property
    def counts(self) -> dict[str, int]:
        """How many units ran, were cached, failed, were skipped (and were pruned, if any)."""
        found = Counter(u.status for u in self.units)
        return {k: found.get(k, 0) for k in FINAL if k != "pruned" or found.get(k)}

    def step(self, name: str) -> list[Unit]:
        """The units of step ``name``."""
        return [u for u in self.units if u.step == name]

    def summary(self) -> str:
        """The closing line: ``pipeline churn: 4 ran, 2 cached, 0 failed, 0 skipped in 9.1 s``."""
        c = self.counts
        parts = ", ".join(f"{n} {k}" for k, n in c.items())
        return (
            f"pipeline {self.name}: {parts} in {self.duration_s:.1f} s (run {self.parent_run_id})"
        )

    def table(self) -> str:
        """One line per unit: label, status, seconds, run id, message."""
        rows = [("unit", "status", "time", "run", "note")]
        for u in self.units:
            note = u.message.splitlines()[0] if u.message else ""
            rows.append((u.label, u.status, f"{u.duration_s:.1f}s", (u.run_id or "-")[:12], note))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
            for r in rows
        ]
        return "\n".join(line.rstrip() for line in lines) + "\n" + self.summary()

    def failures(self) -> list[Unit]:
        """Units that failed, with their messages."""
        return [u for u in self.units if u.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (also logged on the parent run as ``pipeline.json``)."""
        return {
            "name": self.name,
            "parent_run_id": self.parent_run_id,
            "experiment_id": self.experiment_id,
            "executor": self.executor,
            "ok": self.ok,
            "counts": self.counts,
            "duration_s": round(self.duration_s, 3),
            "units": [u.to_dict() for u in self.units],
        }

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.table())
