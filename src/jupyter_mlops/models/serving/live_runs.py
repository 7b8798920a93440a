"""The monitoring runs of one serving session: live performance and resources, as steps.

Each (version, role) with labels gets one MLflow run (``live wine/2
(challenger)``), tagged like every monitoring run (``mlops.monitor.model``,
``mlops.monitor.version``) plus ``mlops.monitor.role`` and recorded on its version,
so the Models views list it. Every refresh logs ``feedback.<metric>`` and
``feedback.labels`` at step = labels seen; the champion's run also gets the
process's CPU seconds, resident memory and established connections. Runs end with the server.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from ...portability import posix
from ...tracking.api import tracker
from ..monitoring_runs import record_monitoring_run

__all__ = ["LiveRuns", "process_figures"]


def process_figures() -> dict[str, float]:
    """CPU seconds, resident memory (bytes) and open TCP connections of this process.

    On POSIX the first two come from ``resource`` and ``/proc`` (cheap, stdlib), elsewhere
    from ``psutil``; connections always from ``psutil`` (``/proc`` is Linux only).
    """
    figures = _posix_usage() if posix() else _psutil_usage()
    connections = _connections()
    if connections is not None:
        figures["process.open_connections"] = float(connections)
    return figures


def _posix_usage() -> dict[str, float]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {"process.cpu_seconds": usage.ru_utime + usage.ru_stime}
    try:
        with open("/proc/self/statm") as fh:
            figures["process.rss_bytes"] = float(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        figures["process.rss_bytes"] = float(usage.ru_maxrss) * 1024
    return figures


def _psutil_usage() -> dict[str, float]:
    import psutil

    proc = psutil.Process()
    with proc.oneshot():
        cpu = proc.cpu_times()
        return {
            "process.cpu_seconds": float(cpu.user + cpu.system),
            "process.rss_bytes": float(proc.memory_info().rss),
        }


def _connections() -> int | None:
    """Established TCP connections of this process (None when the platform will not say)."""
    import psutil

    proc = psutil.Process()
    # psutil 6 renamed ``connections`` to ``net_connections``
    listing = getattr(proc, "net_connections", None) or proc.connections
    try:
        return sum(c.status == psutil.CONN_ESTABLISHED for c in listing(kind="tcp"))
    except psutil.Error:
        return None


class LiveRuns:
    """One run per (version, role) of this serving session, created on its first figures."""

    def __init__(self, model: str, ref: str) -> None:
        self.model, self.ref = model, ref
        self._runs: dict[tuple[str, str], str] = {}

    def log(self, version: Any, role: str, labels: int, metrics: dict[str, float]) -> str:
        """Log ``metrics`` of ``version`` (a ``ModelVersion``) in ``role`` at step ``labels``."""
        from mlflow.entities import Metric

        key = (str(version.version), role)
        run_id = self._runs.get(key) or self._start(version, role)
        now = int(time.time() * 1000)
        values = {f"feedback.{k}": v for k, v in metrics.items()}
        values["feedback.labels"] = float(labels)
        if role == "champion":
            values.update(process_figures())
        batch = [Metric(k, float(v), now, int(labels)) for k, v in values.items()]
        tracker().client.log_batch(run_id, metrics=batch)
        return run_id

    def _start(self, version: Any, role: str) -> str:
        t = tracker()
        tags = {
            "mlops.monitor.model": self.model,
            "mlops.monitor.version": str(version.version),
            "mlops.monitor.ref": self.ref,
            "mlops.monitor.role": role,
            "mlops.monitor.live": "true",
        }
        name = f"live {self.model}/{version.version} ({role})"
        run = t.client.create_run(t.experiment_id(), run_name=name, tags=tags)
        run_id = str(run.info.run_id)
        self._runs[(str(version.version), role)] = run_id
        record_monitoring_run(t.client, version, run_id, {})
        return run_id

    def end(self) -> None:
        """End every run of the session."""
        client = tracker().client
        for run_id in self._runs.values():
            # the store may be gone at shutdown; the run then stays RUNNING
            with contextlib.suppress(Exception):
                client.set_terminated(run_id, "FINISHED")
        self._runs.clear()
