"""The runs a process is logging to: their state and the stack that nests them.

A ``%%mlops run`` cell nests a child under the run that was active, so the
process keeps a stack, innermost last. The stack is process-wide (any thread's
``mlops.log`` goes to its top); MLflow's own run stack is per thread and is kept
in step by :mod:`~jupyter_mlops.tracking.mlflow_bridge.fluent`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.entities import Run

__all__ = [
    "HEARTBEAT_EVERY_S",
    "HEARTBEAT_TAG",
    "RUN_ID_ENV",
    "STATUSES",
    "RunStack",
    "RunState",
    "heartbeat_now",
]

#: Environment variable naming a run created by another process for this one to attach to.
RUN_ID_ENV = "MLOPS_RUN_ID"
STATUSES = ("FINISHED", "FAILED", "KILLED")
HEARTBEAT_TAG = "mlops.heartbeat"
HEARTBEAT_EVERY_S = 15.0


def heartbeat_now() -> str:
    """The value of :data:`HEARTBEAT_TAG` for this moment (whole epoch seconds)."""
    return str(int(time.time()))


@dataclass
class RunState:
    """A run this process is logging to.

    ``owned`` runs are ended by this process; a run attached from ``MLOPS_RUN_ID``
    is not (its creator owns its status). ``params`` holds every param value known
    to be on the run, including ones still buffered; ``params_stale`` is set when
    MLflow's own API touched the run, so params it logged are read back before the
    next param check.
    """

    run_id: str
    name: str
    experiment_id: str
    owned: bool
    params: dict[str, str] = field(default_factory=dict)
    started_ms: int = 0
    parent_id: str | None = None
    params_stale: bool = False

    @classmethod
    def of(cls, run: Run, *, owned: bool, parent_id: str | None = None) -> RunState:
        """State for an MLflow ``Run`` entity."""
        return cls(
            run_id=run.info.run_id,
            name=run.info.run_name or "",
            experiment_id=str(run.info.experiment_id),
            owned=owned,
            params=dict(run.data.params),
            started_ms=run.info.start_time or int(time.time() * 1000),
            parent_id=parent_id,
        )


class RunStack:
    """Active runs of the process, innermost last; safe to use from any thread."""

    def __init__(self) -> None:
        self._runs: list[RunState] = []
        self._lock = threading.RLock()

    @property
    def top(self) -> RunState | None:
        """The innermost run, or ``None``."""
        runs = self._runs
        return runs[-1] if runs else None

    def push(self, run: RunState) -> None:
        """Make ``run`` the innermost run."""
        with self._lock:
            self._runs.append(run)

    def find(self, run_id: str) -> RunState | None:
        """The run ``run_id`` if it is on the stack."""
        with self._lock:
            return next((r for r in self._runs if r.run_id == run_id), None)

    def remove(self, run_id: str) -> RunState | None:
        """Take ``run_id`` off the stack (wherever it is); return it, or ``None``."""
        with self._lock:
            for i, run in enumerate(self._runs):
                if run.run_id == run_id:
                    return self._runs.pop(i)
            return None

    def pop_owned_top(self) -> RunState | None:
        """Take the innermost run off when this process owns it; return it, or ``None``."""
        with self._lock:
            if self._runs and self._runs[-1].owned:
                return self._runs.pop()
            return None

    def snapshot(self) -> list[RunState]:
        """A copy of the stack, outermost first."""
        with self._lock:
            return list(self._runs)

    def __len__(self) -> int:
        return len(self._runs)
