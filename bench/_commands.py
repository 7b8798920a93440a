"""Timing whole commands (shared by the bench scripts)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def timed_command(cmd: list[str], cwd: Path, env: dict[str, str]) -> Callable[[], float]:
    """A function that runs ``cmd`` to completion (it must succeed) and returns its seconds."""

    def run() -> float:
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        return time.perf_counter() - start

    return run
