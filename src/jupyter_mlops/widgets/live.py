"""Live updates without blocking the kernel: a daemon thread that polls and updates widgets.

Widget trait changes made from this thread are sent to the frontend by the
kernel's IOPub machinery, so the user's cells keep running while the panel
refreshes. Each tick is cheap: the runs index asks SQLite whether anything was
committed before reading anything.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

__all__ = ["LiveUpdater"]

log = logging.getLogger(__name__)


class LiveUpdater:
    """Call ``tick()`` every ``interval`` seconds on a daemon thread until stopped.

    The tick is held through a weak reference, so a panel nobody references any
    more stops its thread; a tick returning ``False`` stops it too.
    """

    def __init__(self, tick: Callable[[], bool], interval: float = 0.5) -> None:
        self.interval = interval
        self._tick = weakref.WeakMethod(tick) if hasattr(tick, "__self__") else lambda: tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlops-panel-live", daemon=True)
        #: ticks that raised (logged, then polling goes on)
        self.errors = 0

    def start(self) -> LiveUpdater:
        """Start polling; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop polling and wait for the thread (unless called from it)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            tick = self._tick()
            if tick is None:
                return
            try:
                if tick() is False:
                    return
            except Exception:  # keep the panel alive through a transient store error
                self.errors += 1
                log.debug("panel live update failed", exc_info=True)
            del tick
