"""A local journal for values the tracking store could not take.

When the store is unreachable as a run ends (or while a long outage fills the
buffer), pending values and the run's end are written to
``<root>/.mlops/journal/*.jsonl``. ``jupyter mlops sync`` (or ``mlops.sync()``)
replays them later, in chunks MLflow takes in one call. Replay is idempotent per
chunk: an ``.ack`` file beside each journal records the line and chunk reached
(replaced atomically after every chunk), so an interrupted replay resumes where
it stopped and nothing is sent twice.

A chunk the store refuses (a value it rejects, a run deleted meanwhile) cannot
succeed later: it is moved to ``journal/rejected/`` with the reason, and the
rest of the journal drains. A store that cannot be reached keeps the file
waiting, and says so.
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

from ...errors import MlopsError, NotFound
from .log_buffer import Batch

__all__ = ["Journal", "ReplayResult"]

#: values of one kind in one replayed chunk (MLflow's ``log_batch`` takes 100 params or tags)
CHUNK = 100
REJECTED_DIR = "rejected"

#: apply(tracking_uri, record) writes one journal record to its store or raises
Apply = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay wrote, and why anything was not."""

    files: int
    values: int
    runs_ended: int
    remaining: int  # journal files still waiting (their store is still unreachable)
    rejected: int = 0  # chunks the store refused, moved to ``journal/rejected/``
    problems: tuple[str, ...] = ()  # one line per file left waiting or chunk set aside

    def summary(self) -> str:
        """What a person reads after ``sync``: counts, then one line per problem."""
        head = (
            f"replayed {self.values} values and {self.runs_ended} run ends from "
            f"{self.files} journal file(s); {self.remaining} still waiting"
        )
        if self.rejected:
            head += f"; {self.rejected} record(s) the store refused set aside"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class _Waiting(Exception):
    """The store of a journal file cannot be reached: keep the file for a later sync."""


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
        values = ended = done = remaining = rejected = 0
        problems: list[str] = []
        for path in self.files():
            try:
                v, e, refused = self._replay_file(path, apply)
            except _Waiting as exc:
                remaining += 1
                problems.append(f"{path.name}: waiting, {exc}")
                continue
            except (OSError, ValueError, KeyError) as exc:
                remaining += 1
                problems.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")
                continue
            values, ended, done = values + v, ended + e, done + 1
            rejected += len(refused)
            problems.extend(f"{path.name}: set aside, {why}" for why in refused)
        return ReplayResult(done, values, ended, remaining, rejected, tuple(problems))

    def _replay_file(self, path: Path, apply: Apply) -> tuple[int, int, list[str]]:
        ack = path.with_suffix(".ack")
        at_line, at_chunk = _read_ack(ack)
        lines = path.read_text().splitlines()
        header = json.loads(lines[0])
        uri = header["tracking_uri"]
        values = ended = 0
        refused: list[str] = []
        for number, line in enumerate(lines[1:], start=1):
            if number < at_line:
                continue
            chunks = _chunks(json.loads(line))
            for index in range(at_chunk if number == at_line else 0, len(chunks)):
                chunk = chunks[index]
                try:
                    apply(uri, chunk)
                except Exception as exc:
                    why = _refusal(exc, chunk)
                    self._set_aside(path, uri, chunk, why)
                    refused.append(why)
                else:
                    values += sum(len(chunk.get(k, ())) for k in ("metrics", "params", "tags"))
                    ended += "end" in chunk
                _write_ack(ack, number, index + 1)
        path.unlink()
        ack.unlink(missing_ok=True)
        return values, ended, refused

    def _set_aside(self, path: Path, uri: str, chunk: dict[str, Any], why: str) -> None:
        folder = self.folder / REJECTED_DIR
        folder.mkdir(parents=True, exist_ok=True)
        entry = {"tracking_uri": uri, "reason": why, "record": chunk}
        with (folder / path.name).open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _chunks(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a values record into pieces of at most :data:`CHUNK` values of each kind."""
    if "end" in record:
        return [record]
    kinds = ("metrics", "params", "tags")
    longest = max((len(record.get(k, ())) for k in kinds), default=0)
    return [
        {"run_id": record["run_id"], **{k: record.get(k, [])[i : i + CHUNK] for k in kinds}}
        for i in range(0, max(longest, 1), CHUNK)
    ]


def _refusal(exc: BaseException, chunk: dict[str, Any]) -> str:
    """Why the store refused ``chunk``; raises :class:`_Waiting` when it was not reached."""
    if not isinstance(exc, MlopsError) or not exc.is_usage:
        raise _Waiting(f"the tracking store is unreachable ({exc})") from None
    run_id = chunk.get("run_id", "?")
    what = f"the end of run {run_id}" if "end" in chunk else f"values of run {run_id}"
    if isinstance(exc, NotFound):
        return f"{what}: the run no longer exists ({exc})"
    if "deleted" in str(exc).lower():
        return f"{what}: the run was deleted ({exc})"
    return f"{what}: the store rejected them ({exc})"


def _read_ack(ack: Path) -> tuple[int, int]:
    """``(line, chunk)`` to resume from; an old single number counts whole lines done."""
    if not ack.exists():
        return 1, 0
    parts = ack.read_text().split()
    if not parts:
        return 1, 0
    if len(parts) == 1:
        return int(parts[0]) + 1, 0
    return int(parts[0]), int(parts[1])


def _write_ack(ack: Path, line: int, chunks_done: int) -> None:
    tmp = ack.with_suffix(".ack-tmp")
    tmp.write_text(f"{line} {chunks_done}")
    tmp.replace(ack)  # never a half-written ack: a torn one would replay everything again
