"""Following and cancelling a headless execution from another thread."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ExecutionControl"]

#: seconds between the interrupts a cancelled execution sends its kernel
_INTERRUPT_EVERY_S = 0.5


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
    _km: Any = None

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
        while True:
            pid = getattr(getattr(self._km, "provisioner", None), "pid", None)
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGINT)
            if self.over.wait(_INTERRUPT_EVERY_S):
                return
