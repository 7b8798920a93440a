"""Marking runs left RUNNING by a process that died (SIGKILL, OOM, power loss).

Every run we create carries its host, pid, the pid's start time and a heartbeat
tag refreshed by the flusher thread. A RUNNING run is stale when its process is
gone from this machine (same host name, boot and pid namespace), or when its
heartbeat is older than ``stale_after`` seconds.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from ...liveness import boot_identity, process_alive
from ..mlflow_bridge.store import mlflow_errors
from .run_context import BOOT_TAG
from .run_stack import HEARTBEAT_TAG

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["reap_stale_runs"]

STALE_AFTER_S = 300.0


def _is_stale(run: Run, here: tuple[str, str], now: float, stale_after: float) -> bool:
    tags = run.data.tags
    beat = tags.get(HEARTBEAT_TAG)
    if beat is None:
        return False  # not ours: leave runs of other tools alone
    # A pid is only checked where it means the same process: the same host name is not
    # enough (containers share names), the boot and pid namespace must match too.
    same_machine = (tags.get("mlops.host"), tags.get(BOOT_TAG)) == here and bool(here[1])
    if same_machine and tags.get("mlops.pid", "").isdigit():
        return not process_alive(int(tags["mlops.pid"]), tags.get("mlops.pid_start"))
    return now - float(beat) > stale_after


def reap_stale_runs(client: MlflowClient, stale_after: float = STALE_AFTER_S) -> list[str]:
    """Mark stale RUNNING runs KILLED and return their ids.

    Parameters
    ----------
    client : MlflowClient
        Client of the store to sweep.
    stale_after : float
        Seconds without a heartbeat after which a run on another host is stale.
    """
    here, now = (socket.gethostname(), boot_identity()), time.time()
    with mlflow_errors("look for stale runs"):
        experiments = [e.experiment_id for e in client.search_experiments()]
        if not experiments:
            return []
        running = client.search_runs(
            experiments, filter_string="attributes.status = 'RUNNING'", max_results=5000
        )
    killed = []
    for run in running:
        if not _is_stale(run, here, now, stale_after):
            continue
        end_ms = int(float(run.data.tags[HEARTBEAT_TAG]) * 1000)
        with mlflow_errors(f"mark run {run.info.run_id} KILLED"):
            client.set_tag(run.info.run_id, "mlops.killed_reason", "process died while running")
            client.set_terminated(run.info.run_id, status="KILLED", end_time=end_ms)
        killed.append(run.info.run_id)
    return killed
