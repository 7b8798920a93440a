"""Servers the tests and benches start as child processes: ports, readiness, stopping.

Every server is started with ``start_new_session=True`` so that stopping its
process group also stops the workers it forked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable

__all__ = ["free_port", "stop_group", "wait_http"]


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
