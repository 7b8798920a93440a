"""Progress of a headless execution: events from the runner, a terminal bar for people."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Progress", "ProgressCallback", "TerminalProgress"]


@dataclass(frozen=True)
class Progress:
    """Where an execution is.

    Attributes
    ----------
    phase : str
        ``starting`` (kernel launching), ``cell`` (a cell started), ``done`` (a cell
        finished) or ``finished`` (the notebook is over, whatever the outcome).
    cells_done : int
        Code cells finished so far.
    cells_total : int
        Code cells in the notebook (with the injected parameters cell).
    cell_index : int or None
        Index of the current cell in the notebook.
    cell_summary : str
        First line of the current cell's source.
    elapsed_s : float
        Seconds since the execution started.
    """

    phase: str
    cells_done: int
    cells_total: int
    cell_index: int | None = None
    cell_summary: str = ""
    elapsed_s: float = 0.0

    def describe(self) -> str:
        """One line, e.g. ``3/7 cells, 4.2 s, running [4] model.fit(X, y)``."""
        text = f"{self.cells_done}/{self.cells_total} cells, {self.elapsed_s:.1f} s"
        if self.phase == "starting":
            return f"{text}, starting kernel"
        if self.phase == "cell" and self.cell_index is not None:
            return f"{text}, running [{self.cell_index}] {self.cell_summary}"
        return text


ProgressCallback = Callable[[Progress], None]


def cell_summary(source: str, width: int = 48) -> str:
    """First non-blank line of a cell, shortened to ``width`` characters."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


class TerminalProgress:
    """A tqdm bar on stderr: cells done / total, the running cell and elapsed time.

    Parameters
    ----------
    label : str
        Shown before the bar, e.g. the notebook's name.
    stream : file, optional
        Where to draw; default ``sys.stderr``. Nothing is drawn unless it is a terminal
        or ``force`` is true, so logs of scheduled jobs stay clean.
    """

    def __init__(self, label: str, stream: TextIO | None = None, *, force: bool = False) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._enabled = force or bool(getattr(self._stream, "isatty", lambda: False)())
        self._bar: Any = None
        self._started = time.monotonic()

    def __call__(self, event: Progress) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=event.cells_total,
                desc=self._label,
                unit="cell",
                file=self._stream,
                leave=False,
                dynamic_ncols=True,
            )
        self._bar.n = event.cells_done
        if event.phase == "cell":
            self._bar.set_postfix_str(f"[{event.cell_index}] {event.cell_summary}", refresh=False)
        elif event.phase == "starting":
            self._bar.set_postfix_str("starting kernel", refresh=False)
        self._bar.refresh()
        if event.phase == "finished":
            self.close()

    def close(self) -> None:
        """Remove the bar from the terminal."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
