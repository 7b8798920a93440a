"""Reaping runs left RUNNING by dead processes, and only those of this machine."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from jupyter_mlops.liveness import boot_identity
from jupyter_mlops.tracking.writing.run_context import BOOT_TAG
from jupyter_mlops.tracking.writing.stale_runs import reap_stale_runs
from jupyter_mlops.tracking.writing.tracker import HEARTBEAT_TAG

pytestmark = pytest.mark.integration


def _dead_pid() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return str(proc.pid)


def test_a_dead_pid_counts_only_on_this_boot_and_pid_namespace(client: Any) -> None:
    exp = client.create_experiment("stale")
    pid, beat = _dead_pid(), str(int(time.time()))  # a fresh heartbeat: only the pid can tell
    ours = {"mlops.host": socket.gethostname(), "mlops.pid": pid, HEARTBEAT_TAG: beat}
    here = client.create_run(exp, tags={**ours, BOOT_TAG: boot_identity()}).info.run_id
    # Another container with the same host name (its own boot / pid namespace): its pids are
    # not ours to check, whatever they are here.
    twin = client.create_run(exp, tags={**ours, BOOT_TAG: "other-boot pid:[1]"}).info.run_id
    assert reap_stale_runs(client) == [here]
    assert client.get_run(here).info.status == "KILLED"
    assert client.get_run(twin).info.status == "RUNNING"
