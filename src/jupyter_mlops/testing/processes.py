"""Servers the tests and benches start as child processes: ports, readiness, stopping.

Every server is started with ``start_new_session=True`` so that stopping its
process group also stops the workers it forked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["free_port", "running", "stop_group", "wait_http", "wait_until"]


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    deadline_s: float = 60,
    *,
    log: Callable[[], str] = lambda: "",
) -> None:
    """Wait until GET ``url`` answers 200.

    Raises
    ------
    RuntimeError
        When ``proc`` exits first (with the tail of ``log()``) or ``deadline_s`` passes.
    """
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}: {log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {deadline_s} s: {log()}")


def stop_group(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after 20 s."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    except ProcessLookupError:
        proc.wait(timeout=20)


@contextmanager
def running(
    cmd: list[str], env: dict[str, str], ready_url: str, deadline_s: float = 90
) -> Iterator[None]:
    """Run ``cmd`` (output to a temporary file) for the block; ready when ``ready_url`` says 200.

    Raises
    ------
    RuntimeError
        When the server exits or does not answer in time (with the tail of its output).
    """
    with tempfile.TemporaryFile() as log:

        def tail() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-3000:]

        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            wait_http(ready_url, proc, deadline_s, log=tail)
            yield
        finally:
            stop_group(proc)


def wait_until(
    predicate: Callable[[], Any], what: str, deadline_s: float = 60, poll_s: float = 0.2
) -> Any:
    """The first truthy value of ``predicate()``; AssertionError naming ``what`` when too late."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
