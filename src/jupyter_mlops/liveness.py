"""Whether a process is still running: ``/proc`` on Linux (stdlib only: cheap), else ``psutil``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .portability import posix

__all__ = ["boot_identity", "process_alive", "process_start_ticks"]


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (Linux), else ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; fields after its closing parenthesis are fixed.
    return stat.rsplit(")", 1)[1].split()


def _psutil_process(pid: int) -> Any:
    import psutil

    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def process_start_ticks(pid: int) -> int | None:
    """A process's start time: clock ticks since boot (Linux), else milliseconds (``psutil``)."""
    if not posix():
        import psutil

        proc = _psutil_process(pid)
        try:
            return int(proc.create_time() * 1000) if proc is not None else None
        except psutil.Error:
            return None
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None


def process_alive(pid: int, start_ticks: str | None = None) -> bool:
    """Whether process ``pid`` is running.

    A zombie (exited, not yet reaped) counts as gone. With ``start_ticks`` (a
    recorded :func:`process_start_ticks`), a pid reused by a process that started
    at another time counts as gone too.
    """
    if not posix():
        return _alive_psutil(pid, start_ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    fields = _proc_stat(pid)
    if fields and fields[0] == "Z":
        return False
    if start_ticks:
        return fields is not None and fields[19] == start_ticks
    return True


def _alive_psutil(pid: int, start_ticks: str | None) -> bool:
    import psutil

    proc = _psutil_process(pid)
    if proc is None:
        return False
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    return not start_ticks or str(process_start_ticks(pid)) == start_ticks


def boot_identity() -> str:
    """What makes a pid meaningful: this boot of the kernel and this pid namespace.

    Two containers can share a hostname (and one host kernel): their pids only mean
    something to each other when both the boot id and the pid namespace match.
    Elsewhere the boot time (``psutil``).
    """
    if not posix():
        import psutil

        return f"boot {int(psutil.boot_time())}"
    parts = []
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return " ".join(parts)
