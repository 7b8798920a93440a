"""A kernel provisioner that forks the kernel from a template instead of launching it.

jupyter_client asks its provisioner to launch the kernel command it formatted (after
writing the connection file); this one hands an ``ipykernel_launcher -f <file>``
command to the kernel template of its interpreter and project
(:mod:`.templates`) and manages the child it gets back like a launched process:
poll, wait, interrupt, terminate and kill go to its pid and process group. Any other
command, or a template that cannot fork, is launched as jupyter_client would. So
papermill and nbclient drive the kernel exactly as they drive a launched one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from ...liveness import process_alive, process_start_ticks
from ...tracking.writing.run_context import NOTEBOOK_ENV
from .preload import wanted_preload
from .templates import ForkRequest, fork_kernel

__all__ = ["ForkProvisioner", "ForkedProcess", "forkable"]

_LAUNCHERS = ("ipykernel_launcher", "ipykernel")


def forkable(cmd: list[str]) -> bool:
    """Whether ``cmd`` starts an IPython kernel from a known interpreter with a connection file."""
    return (
        len(cmd) >= 5
        and os.path.isabs(cmd[0])
        and cmd[1] == "-m"
        and cmd[2] in _LAUNCHERS
        and cmd[3] == "-f"
    )


class ForkedProcess:
    """The part of :class:`subprocess.Popen` a provisioner uses, for a process we did not start.

    The kernel is the template's child, so this process cannot wait for it. The
    template writes the kernel's exit code (negative: the signal that ended it, as
    ``Popen`` reports it) to ``status_fd`` once it has reaped the kernel. Should the
    template end first, the kernel's exit is seen on a pidfd (Linux), else by the
    process's start time no longer matching, and its code is unknown (0).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, status_fd: int = -1) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_fd = status_fd
        self._ticks = process_start_ticks(pid)
        try:
            self._pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = -1

    def poll(self) -> int | None:
        """``None`` while the kernel runs, else its exit code."""
        if self.returncode is None:
            self._settle(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the kernel has exited; its exit code."""
        while self.poll() is None:
            self._settle(timeout)
        return int(self.returncode or 0)

    def _settle(self, timeout: float | None) -> None:
        """Set :attr:`returncode` if the kernel ends within ``timeout`` seconds."""
        if self._status_fd >= 0:
            if not _readable(self._status_fd, timeout):
                return
            reported = b""
            with contextlib.suppress(OSError):
                reported = os.read(self._status_fd, 64).strip()
            os.close(self._status_fd)
            self._status_fd = -1
            if reported.lstrip(b"-").isdigit():
                self._ended(int(reported))
                return
            timeout = 0  # the template ended first: look at the kernel itself
        if self._pidfd >= 0:
            if _readable(self._pidfd, timeout):
                self._ended(0)
            return
        ticks = None if self._ticks is None else str(self._ticks)
        if not process_alive(self.pid, ticks):
            self._ended(0)
        elif timeout != 0:
            import time

            time.sleep(0.05)

    def _ended(self, code: int) -> None:
        self.returncode = code
        self._close()

    def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group, unless it has exited (its pid may be reused)."""
        if self.poll() is not None:
            return
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _close(self) -> None:
        for fd in (self._pidfd, self._status_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._pidfd = self._status_fd = -1

    def __del__(self) -> None:
        self._close()


def _readable(fd: int, timeout: float | None) -> bool:
    """Whether ``fd`` becomes readable within ``timeout`` seconds (``poll``: no 1024-fd limit)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else int(timeout * 1000)))


class ForkProvisioner(LocalProvisioner):
    """:class:`LocalProvisioner`, with IPython kernels forked from a preloaded template."""

    #: whether the running kernel was forked (``False``: launched as usual)
    forked = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork the kernel of ``cmd`` from its template; launch it normally if that fails."""
        # A launch that cannot work (a missing folder) fails as jupyter_client's launch fails.
        usable = forkable(cmd) and os.path.isdir(kwargs.get("cwd") or os.getcwd())
        forked = await asyncio.to_thread(self._fork, cmd, kwargs) if usable else None
        self.forked = forked is not None
        if forked is None:
            return await super().launch_kernel(cmd, **kwargs)
        pid, status_fd = forked
        self.process = ForkedProcess(pid, status_fd)  # type: ignore[assignment]
        self.pid = self.pgid = pid
        self.cwd = kwargs.get("cwd") or os.getcwd()
        return self.connection_info

    def _fork(self, cmd: list[str], kwargs: dict[str, Any]) -> tuple[int, int] | None:
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it
        stdout = kwargs.get("stdout")
        log_fd = stdout.fileno() if stdout is not None else 1  # else ours, as Popen would
        kernel_name = str(getattr(self.parent, "kernel_name", "") or "")
        request = ForkRequest(
            argv=list(cmd),
            env=env,
            cwd=str(kwargs.get("cwd") or os.getcwd()),
            log_fd=log_fd,
            kernel_name=kernel_name,
            need=wanted_preload(env.get(NOTEBOOK_ENV), env),
        )
        return fork_kernel(request)

    async def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group (a forked kernel: only while it runs)."""
        if isinstance(self.process, ForkedProcess):
            self.process.send_signal(signum)
            return
        await super().send_signal(signum)
