"""The non-POSIX branches, taken on this machine (``MLOPS_TEST_NON_POSIX=1``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_mlops import liveness
from jupyter_mlops.portability import TEST_NON_POSIX_ENV, posix


@pytest.fixture(params=["posix", "portable"])
def branch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once on the POSIX branch and once on the portable (Windows) one."""
    if request.param == "portable":
        monkeypatch.setenv(TEST_NON_POSIX_ENV, "1")
    else:
        monkeypatch.delenv(TEST_NON_POSIX_ENV, raising=False)
    assert posix() is (request.param == "posix")
    return str(request.param)


def test_liveness_sees_running_exited_and_reused_processes(branch: str) -> None:
    me = os.getpid()
    assert liveness.process_alive(me)
    started = liveness.process_start_ticks(me)
    assert started is not None
    assert liveness.process_alive(me, str(started))
    assert not liveness.process_alive(me, str(started + 1))  # the pid, reused later
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not liveness.process_alive(child.pid)
    assert liveness.boot_identity() != ""


def test_an_unreaped_child_counts_as_gone(branch: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60
        while liveness.process_alive(child.pid):  # exits, stays a zombie until waited for
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.05)
    finally:
        child.wait()


def test_the_store_lock_excludes_another_holder(branch: str, tmp_path: Path) -> None:
    from jupyter_mlops.tracking.mlflow_bridge.store import _file_lock

    lock, inside = tmp_path / ".init.lock", tmp_path / "inside"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import pathlib, time; from filelock import FileLock\n"
            f"inside = pathlib.Path({str(inside)!r})\n"
            f"with FileLock({str(lock)!r}):\n"
            "    inside.touch(); print('held', flush=True); time.sleep(1.0); inside.unlink()\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with _file_lock(lock):
            assert not inside.exists(), "the lock was taken while another process held it"
    finally:
        holder.wait(timeout=60)


def test_each_branch_has_its_worker_endpoint_and_kernel_transport(
    branch: str, tmp_path: Path
) -> None:
    from jupyter_mlops.headless.kernel_launch import _transport
    from jupyter_mlops.headless.worker.address import endpoint_path
    from jupyter_mlops.headless.worker.client import run_request

    request = run_request(tmp_path / "nb.ipynb", {"x": 1})
    assert request is not None  # the warm worker serves runs on both branches
    transport = _transport()
    if branch == "posix":
        assert endpoint_path("k").name == "k.sock" and transport["transport"] == "ipc"
    else:  # the worker on loopback TCP (its address file), kernels on loopback TCP
        assert endpoint_path("k").name == "k.tcp" and transport == {}
