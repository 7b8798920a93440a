"""Following and cancelling a headless execution from another thread."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ..portability import posix

__all__ = ["ExecutionControl"]

#: seconds between the interrupts a cancelled execution sends its kernel
_INTERRUPT_EVERY_S = 0.5
#: seconds of unanswered interrupts after which the kernel process is killed: an interrupt
#: landing outside a cell's execution can leave the kernel without ever replying to it
_KILL_AFTER_S = 15.0


@dataclass
class ExecutionControl:
    """Lets another thread follow and cancel an execution."""

    run_id: str | None = None
    output_path: Path | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: set once the run exists (or creating it failed)
    created: threading.Event = field(default_factory=threading.Event)
    #: set when the kernel process died under the notebook (SIGKILL, out of memory)
    kernel_died: bool = False
    #: set once the notebook stopped executing (whatever the outcome)
    over: threading.Event = field(default_factory=threading.Event)
    #: once a cancel has interrupted the cell, kill the kernel instead of shutting it down:
    #: for runs whose values are read as they are written (a pruned trial), where the
    #: kernel's last buffered values and its exit handlers are not wanted
    kill_when_cancelled: bool = False
    #: the kernel's interpreter (its kernel spec's first word), once the kernel exists
    interpreter: str | None = None
    _km: Any = None
    _stopping: threading.Thread | None = None

    def stop_kernel(self, stop: Callable[[Any], None]) -> None:
        """Call ``stop(kernel manager)`` on a thread: the outcome is logged meanwhile."""
        self._stopping = threading.Thread(
            target=stop, args=(self._km,), name="mlops-kernel-stop", daemon=True
        )
        self._stopping.start()

    def wait_kernel_stopped(self) -> None:
        """Return once the kernel stopped by :meth:`stop_kernel` is gone."""
        if self._stopping is not None:
            self._stopping.join()

    def cancel(self) -> None:
        """Interrupt the running cell; the run ends KILLED.

        The kernel is interrupted again every half second until the execution is
        over: an interrupt that reaches it while it is still starting, or between
        the client starting a cell and the kernel running it, is ignored.
        """
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        threading.Thread(
            target=self._interrupt_until_over, name="mlops-cancel", daemon=True
        ).start()

    def _interrupt_until_over(self) -> None:
        waited = 0.0
        while True:
            pid = getattr(getattr(self._km, "provisioner", None), "pid", None)
            if pid:
                _signal_kernel(int(pid), kill=waited >= _KILL_AFTER_S)
                waited += _INTERRUPT_EVERY_S
            if self.over.wait(_INTERRUPT_EVERY_S):
                return


def _signal_kernel(pid: int, *, kill: bool) -> None:
    """Interrupt the kernel process ``pid`` (SIGINT), or kill it.

    Without POSIX signals (Windows) ``SIGINT`` sent with :func:`os.kill` ends the process
    outright and there is no ``SIGKILL``: there the kernel is killed at once through
    psutil, and the run still ends ``KILLED``.
    """
    if kill or not posix():
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)
