"""The provisioner's view of a forked kernel: a process it did not start, seen through a pidfd."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from jupyter_mlops.headless.fork.provisioner import ForkedProcess, forkable


def test_exit_is_seen_even_with_a_descriptor_over_select_s_limit() -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1500:
        pytest.skip("this process may not open descriptor 1500")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    process = ForkedProcess(child.pid)
    if process._pidfd < 0:
        pytest.skip("no pidfd on this kernel")
    high = os.dup2(process._pidfd, 1500)  # a runner with many sockets gets such numbers
    os.close(process._pidfd)
    process._pidfd = high
    assert process.poll() is None
    child.stdin.close()  # type: ignore[union-attr]
    child.wait()
    assert process.wait(timeout=30) == 0 and process.poll() == 0
    process.send_signal(9)  # exited: nothing is signalled (its pid may be reused)


def test_only_ipykernel_commands_with_a_connection_file_are_forked() -> None:
    assert forkable([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not forkable(["python", "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not forkable([sys.executable, "-m", "other_kernel", "-f", "k.json"])
    assert not forkable(["/usr/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "k.json"])
