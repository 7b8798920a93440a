"""Timing two code versions on a shared machine: long-lived processes taking turns.

Each version runs in one process that stays up and answers requests (a line in, the
seconds of one run out), so imports and data are paid once. The versions take turns
run by run, who goes first alternating, so load from other processes meets both alike;
each time is the best of several runs (more when one version looks slower, so a slowdown
must last), and a difference counts as a regression only beyond :data:`TOLERANCE` and
:data:`MIN_SLOWER_S`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["MIN_SLOWER_S", "TOLERANCE", "TimingProcess", "best_in_turns", "slower"]

#: ours counts as slower only when its best time exceeds before's by this share ...
TOLERANCE = 0.15
#: ... and by this many seconds (a few milliseconds are scheduling noise on a shared machine)
MIN_SLOWER_S = 0.005


class TimingProcess:
    """A child process, ``command`` run with ``src`` first on the import path.

    It reads one request per line on stdin and prints the seconds of one run per line.
    """

    def __init__(self, command: Sequence[str], src: Path) -> None:
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(src)},
        )

    def time(self, request: str) -> float:
        """Seconds of one run of ``request``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the timing process ended (exit {self.proc.wait()})")
        return float(line)

    def close(self) -> None:
        """End the child: its stdin closes, it returns."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def best_in_turns(
    processes: dict[str, TimingProcess],
    cases: Sequence[tuple[str, ...]],
    rounds: int,
    doubtful: Callable[[dict[str, float]], bool] | None = None,
) -> dict[str, dict[tuple[str, ...], float]]:
    """``{version: {case: best seconds}}``, each case run ``rounds`` times per version.

    A case is sent as its words joined by spaces. Within a round every version runs the
    case once, in turn; the order of the versions flips from round to round. While
    ``doubtful`` holds for a case's best times so far (one version looks slower), up to
    twice as many rounds more are run: a slowdown must last to count. Processes are
    closed at the end.
    """
    best: dict[str, dict[tuple[str, ...], float]] = {n: {} for n in processes}
    try:
        for case in cases:
            for turn in range(3 * rounds):
                so_far = {name: times[case] for name, times in best.items() if case in times}
                if turn >= rounds and not (doubtful and doubtful(so_far)):
                    break
                names = list(processes) if turn % 2 == 0 else list(reversed(processes))
                for name in names:
                    seconds = processes[name].time(" ".join(case))
                    best[name][case] = min(best[name].get(case, float("inf")), seconds)
    finally:
        for process in processes.values():
            process.close()
    return best


def slower(ours: float, before: float) -> bool:
    """True when ``ours`` is slower than ``before`` beyond the stated tolerance."""
    return ours > before * (1 + TOLERANCE) and ours - before > MIN_SLOWER_S
