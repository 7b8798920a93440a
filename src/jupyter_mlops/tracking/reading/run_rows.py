"""One row per run, and a page of rows: what the runs index (:mod:`.index`) holds and answers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: tags that hold large text (cell source, notes, model history): not kept in the index
UNINDEXED_TAGS = ("mlops.cell", "mlflow.note.content", "mlflow.log-model.history")
#: run statuses that can still change
UNFINISHED = frozenset({"RUNNING", "SCHEDULED"})
MAX_PAGE = 1000
CHUNK = 500
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(eq=False)
class RunRow:
    """One run as the index holds it (a snapshot: do not mutate)."""

    run_id: str
    name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str = ""
    artifact_uri: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: dataset inputs as ``(name, digest, context)``
    datasets: tuple[tuple[str, str, str], ...] = ()

    @property
    def info_key(self) -> tuple[Any, ...]:
        """The run-table fields whose change means the run must be re-read."""
        return (self.name, self.status, self.end_time, self.experiment_id)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, ``None`` while unfinished."""
        return (self.end_time - self.start_time) / 1000 if self.end_time else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN/inf metrics become ``None``), like ``browse.run_row``."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "metrics": {
                k: v if math.isfinite(v) else None for k, v in sorted(self.metrics.items())
            },
            "params": dict(sorted(self.params.items())),
            "tags": dict(sorted(self.tags.items())),
        }


class RunsPage(NamedTuple):
    """One page of runs and how many runs match in all; unpacks as ``rows, total``."""

    rows: list[RunRow]
    total: int

    def next_page_token(self, offset: int) -> str | None:
        """Token of the page after the one that started at ``offset``, or ``None``."""
        nxt = offset + len(self.rows)
        return str(nxt) if self.rows and nxt < self.total else None
