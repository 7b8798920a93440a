"""Webhook notifications after an execution, delivered off the scheduler's thread.

A JSON POST whose ``text`` field reads well in Slack-style incoming webhooks and
whose other fields are for programs. A failed delivery is retried a few times
with a growing pause, then logged; nothing here ever blocks a scheduler.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

__all__ = ["RETRY_DELAYS_S", "Notifier", "notifier"]

log = logging.getLogger("jupyter_mlops.schedules")

#: pauses before the second, third and fourth attempt
RETRY_DELAYS_S = (0.5, 2.0, 5.0)
_TIMEOUT_S = 10.0


def post_json(url: str, body: dict[str, Any]) -> None:
    """POST ``body`` to ``url``; raise on a network error or a non-2xx status."""
    data = json.dumps(body, default=str).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        response.read()


class Notifier:
    """One delivery thread per process, started on the first notification."""

    def __init__(self, delays: Sequence[float] = RETRY_DELAYS_S) -> None:
        self._delays = tuple(delays)
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def send(self, urls: Sequence[str], body: dict[str, Any]) -> None:
        """Queue ``body`` for each of ``urls`` and return at once."""
        for url in urls:
            self._queue.put((url, body))
        with self._lock:
            if urls and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._deliver_forever, name="mlops-notify", daemon=True
                )
                self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait until every queued notification was delivered or given up; True if so."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._queue.unfinished_tasks

    def _deliver_forever(self) -> None:
        while True:
            url, body = self._queue.get()
            try:
                self._deliver(url, body)
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, body: dict[str, Any]) -> None:
        attempts = len(self._delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                post_json(url, body)
                return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                if attempt == attempts:
                    log.warning(
                        "notification for schedule %s to %s failed after %d attempts: %s",
                        body.get("schedule"),
                        url,
                        attempts,
                        reason,
                    )
                    return
                log.info("notification to %s failed (%s); retrying", url, reason)
                time.sleep(self._delays[attempt - 1])


_notifier = Notifier()


def notifier() -> Notifier:
    """The process's notifier."""
    return _notifier
