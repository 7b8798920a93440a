"""A spare kernel, started ahead of time for the next headless run of a warm worker.

Starting a Python kernel is most of the cost of a short notebook. After a run the
worker starts one kernel for the same kernel name, working folder and
environment; the next run with exactly those takes it instead of waiting for a
new one. Only the run's own variables (``MLOPS_RUN_ID``, ``MLFLOW_RUN_ID``, ``MLOPS_NOTEBOOK_PATH``)
are unknown in advance: they are set in the kernel's ``os.environ`` by a silent
request before the first cell, so the notebook sees what a fresh kernel would.
Anything else that differs, a kernel that is not Python, or a kernel that died
while waiting means a fresh kernel, as without a worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import STORE_DIRNAME
from ..tracking.writing.run_context import NOTEBOOK_ENV
from ..tracking.writing.shared_runs import MLFLOW_RUN_ENV
from ..tracking.writing.tracker import RUN_ID_ENV
from .kernel_launch import kernel_manager, start_kernel, stop_kernel

__all__ = ["KernelPool"]

log = logging.getLogger("jupyter_mlops")

#: variables set per run, injected into a spare kernel when it is taken
RUN_VARIABLES = (RUN_ID_ENV, MLFLOW_RUN_ENV, NOTEBOOK_ENV)
#: seconds to wait for a spare kernel to answer
_READY_S = 60.0


def _without_run_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in RUN_VARIABLES}


@dataclass
class _Spare:
    """A kernel being started (or started) for a known name, folder and environment."""

    kernel_name: str
    env: dict[str, str]
    cwd: str
    log_path: Path
    km: Any = None
    ready: threading.Event = field(default_factory=threading.Event)
    #: the log file now belongs to a run: never delete it
    handed_out: bool = False

    def matches(self, kernel_name: str, env: Mapping[str, str], cwd: str) -> bool:
        return (kernel_name, cwd) == (self.kernel_name, self.cwd) and self.env == dict(env)

    def start(self) -> None:
        try:
            km = kernel_manager(self.kernel_name, self.env, self.cwd, str(self.log_path))
            self.km = km
            start_kernel(km)
        except Exception as exc:
            # No run is affected (the next one starts its own kernel), but say why every
            # run misses the spare, or the pool just looks slow.
            first = (str(exc).splitlines() or [""])[0]
            log.warning(
                "jupyter-mlops: the spare %s kernel for %s did not start (%s: %s); "
                "runs start their own kernel",
                self.kernel_name,
                self.cwd,
                type(exc).__name__,
                first,
            )
            self.km = None
        finally:
            self.ready.set()

    def discard(self) -> None:
        self.ready.wait()
        with contextlib.suppress(Exception):
            stop_kernel(self.km)
        if not self.handed_out:
            with contextlib.suppress(OSError):
                self.log_path.unlink()


class KernelPool:
    """At most one spare kernel, matched on kernel name, working folder and environment.

    ``pool(kernel_name, env, cwd, log_path)`` is a kernel source for
    :func:`~.headless.execute_notebook`: it returns a started kernel manager.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: _Spare | None = None
        self._last: tuple[str, dict[str, str], str] | None = None
        self.hits = 0
        self.misses = 0

    def __call__(self, kernel_name: str, env: Mapping[str, str], cwd: str, log_path: str) -> Any:
        base = _without_run_variables(env)
        with self._lock:
            spare, self._spare = self._spare, None
            self._last = (kernel_name, base, cwd)
        if spare is not None and spare.matches(kernel_name, base, cwd):
            km = self._take(spare, env, Path(log_path))
            if km is not None:
                self.hits += 1
                return km
        elif spare is not None:
            threading.Thread(target=spare.discard, daemon=True).start()
        self.misses += 1
        km = kernel_manager(kernel_name, env, cwd, log_path)
        start_kernel(km)
        return km

    def _take(self, spare: _Spare, env: Mapping[str, str], log_path: Path) -> Any:
        """Hand ``spare`` out with the run's variables set, or ``None`` (then discarded)."""
        spare.ready.wait()
        try:
            if spare.km is None or not _alive(spare.km):
                raise RuntimeError("the spare kernel is gone")
            # The kernel keeps writing to the same file under its new name.
            os.replace(spare.log_path, log_path)
            spare.handed_out = True
            _set_variables(spare.km, {k: env[k] for k in RUN_VARIABLES if k in env})
        except Exception as exc:
            log.warning("jupyter-mlops: spare kernel not used (%s); starting a fresh one", exc)
            threading.Thread(target=spare.discard, daemon=True).start()
            return None
        return spare.km

    def expect(self, kernel_name: str, env: Mapping[str, str], cwd: str) -> None:
        """Start a spare kernel for a run expected with these (e.g. the notebook of a first run)."""
        with self._lock:
            self._last = (kernel_name, _without_run_variables(env), cwd)
        self.refill()

    def refill(self) -> None:
        """Start a spare kernel like the one last handed out (Python kernels only)."""
        with self._lock:
            if self._last is None or self._spare is not None:
                return
            kernel_name, env, cwd = self._last
            folder = _outputs_folder(env)
            if folder is None or not _is_python(kernel_name):
                return
            log_path = folder / f".spare-{uuid.uuid4().hex[:12]}.kernel.log"
            self._spare = spare = _Spare(kernel_name, env, cwd, log_path)
        threading.Thread(target=spare.start, name="mlops-spare-kernel", daemon=True).start()

    def close(self) -> None:
        """Shut the spare kernel down, if any."""
        with self._lock:
            spare, self._spare, self._last = self._spare, None, None
        if spare is not None:
            spare.discard()


def _outputs_folder(env: Mapping[str, str]) -> Path | None:
    """Where runs of the kernel's store write outputs: its log is moved from there to the run's."""
    home = env.get("MLOPS_HOME")
    if not home:
        return None
    folder = Path(home) / STORE_DIRNAME / "outputs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _is_python(kernel_name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except Exception:
        return False
    return str(spec.language).lower() == "python"


def _alive(km: Any) -> bool:
    from jupyter_core.utils import run_sync

    return bool(run_sync(km.is_alive)())


def _set_variables(km: Any, values: Mapping[str, str]) -> None:
    """Set ``values`` in the kernel's ``os.environ`` without touching its history or names."""
    from jupyter_core.utils import run_sync

    code = f"__import__('os').environ.update({json.dumps(dict(values))})"
    run_sync(_execute_silently)(km, code)


async def _execute_silently(km: Any, code: str) -> None:
    kc = km.client()
    # The shell channel alone: requests queue until the kernel reads them, and its
    # reply means the code ran. (``wait_for_ready`` would spend 0.2 s draining IOPub.)
    kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = kc.execute(code, silent=True, store_history=False)
        while True:
            reply = await kc.get_shell_msg(timeout=_READY_S)
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"the spare kernel refused its run variables: {reply['content']}")
    finally:
        kc.stop_channels()
