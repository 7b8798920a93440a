"""Live progress of a pipeline run in a terminal: one line per unit, redrawn in place.

On a terminal the table is redrawn (at most a few times a second) with each
unit's state and elapsed time; elsewhere (logs, CI) one line is printed per
state change, so scheduled runs leave a readable log.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .units import PipelineListener, PipelineResult, Unit

__all__ = ["TerminalPipelineDisplay"]

_SYMBOL = {
    "pending": "·",
    "queued": "·",
    "running": "▶",
    "ran": "✓",
    "cached": "≡",
    "failed": "✗",
    "skipped": "-",
    "pruned": "✂",
}
_REDRAW_S = 0.25


def unit_line(unit: Unit, width: int) -> str:
    """``▶ train[max_depth=4]   running   3.2s  2/5 cells, ...``."""
    timed = ("running", "ran", "failed", "pruned")
    elapsed = f"{unit.elapsed_s:.1f}s" if unit.status in timed else ""
    note = unit.detail if unit.status == "running" else (unit.message.splitlines() or [""])[0]
    return (
        f"{_SYMBOL.get(unit.status, '?')} {unit.label.ljust(width)}  "
        f"{unit.status:<8} {elapsed:>7}  {note}"
    ).rstrip()


class TerminalPipelineDisplay(PipelineListener):
    """Shows the pipeline's units as they progress.

    Parameters
    ----------
    stream : file, optional
        Where to write; default ``sys.stderr``.
    live : bool, optional
        Redraw in place; default: when ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        isatty = getattr(self._stream, "isatty", lambda: False)()
        self._live = isatty if live is None else live
        self._units: list[Unit] = []
        self._width = 0
        self._drawn = 0
        self._last = 0.0

    def started(self, units: list[Unit], parent_run_id: str) -> None:
        self._units = units
        self._width = max((len(u.label) for u in units), default=4)
        self._write(f"pipeline run {parent_run_id}: {len(units)} units\n")
        if self._live:
            self._redraw(force=True)

    def update(self, unit: Unit) -> None:
        if self._live:
            self._redraw()
        elif unit.status not in ("pending", "queued") and not unit.detail:
            self._write(unit_line(unit, self._width) + "\n")

    def finished(self, result: PipelineResult) -> None:
        if self._live:
            self._redraw(force=True)
        self._write(result.summary() + "\n")

    def _redraw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < _REDRAW_S:
            return
        self._last = now
        lines = [unit_line(u, self._width) for u in self._units]
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self._write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self._drawn = len(lines)

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
