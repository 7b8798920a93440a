"""A local journal for values the tracking store could not take.

When the store is unreachable as a run ends (or while a long outage fills the
buffer), pending values and the run's end are written to
``<root>/.mlops/journal/*.jsonl``. ``jupyter mlops sync`` (or ``mlops.sync()``)
replays them later. Replay is idempotent: an ``.ack`` file beside each journal
records how many lines were applied, so an interrupted replay resumes where it
stopped and nothing is written twice.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .buffer import Batch

__all__ = ["Journal", "ReplayResult"]

#: apply(tracking_uri, record) writes one journal record to its store or raises
Apply = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay wrote."""

    files: int
    values: int
    runs_ended: int
    remaining: int  # journal files still waiting (their store is still unreachable)


class Journal:
    """Journal files in ``folder`` for values bound to ``tracking_uri``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(
        self,
        tracking_uri: str,
        batches: Iterable[Batch],
        end: tuple[str, str, int] | None = None,
    ) -> Path | None:
        """Write ``batches`` and a run end ``(run_id, status, end_ms)`` durably; return the file."""
        lines = [json.dumps({"tracking_uri": tracking_uri, "version": 1})]
        for run_id, metrics, params, tags in batches:
            if metrics or params or tags:
                record = {"run_id": run_id, "metrics": metrics, "params": params, "tags": tags}
                lines.append(json.dumps(record))
        if end is not None:
            lines.append(json.dumps({"run_id": end[0], "end": end[1], "end_time": end[2]}))
        if len(lines) == 1:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
        path = self.folder / name
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)  # a reader never sees a half-written journal
        return path

    def files(self) -> list[Path]:
        """Journal files waiting to be replayed, oldest first."""
        return sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []

    def replay(self, apply: Apply) -> ReplayResult:
        """Replay every journal file with ``apply``; keep files whose store still fails."""
        values = ended = done = 0
        remaining = 0
        for path in self.files():
            try:
                v, e = self._replay_file(path, apply)
            except Exception:
                remaining += 1
                continue
            values, ended, done = values + v, ended + e, done + 1
        return ReplayResult(done, values, ended, remaining)

    def _replay_file(self, path: Path, apply: Apply) -> tuple[int, int]:
        ack = path.with_suffix(".ack")
        applied = int(ack.read_text() or 0) if ack.exists() else 0
        lines = path.read_text().splitlines()
        header = json.loads(lines[0])
        values = ended = 0
        for number, line in enumerate(lines[1:], start=1):
            if number <= applied:
                continue
            record = json.loads(line)
            apply(header["tracking_uri"], record)
            values += sum(len(record.get(k, ())) for k in ("metrics", "params", "tags"))
            ended += "end" in record
            ack.write_text(str(number))
        path.unlink()
        ack.unlink(missing_ok=True)
        return values, ended
