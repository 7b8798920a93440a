"""Papermill plumbing: a kernel manager that launches with our environment, and an
engine (registered in papermill's engine registry as ``mlops``) that reports progress.

Papermill hands extra keyword arguments to its engine; the engine passes ``km``
to nbclient, which starts the kernel through it. So the environment and working
folder travel with each execution instead of through this process's globals
(``os.environ``, ``os.chdir``), and several notebooks can run side by side.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..portability import posix
from .progress import Progress, ProgressCallback, cell_summary

__all__ = [
    "ENGINE_NAME",
    "kernel_interpreter",
    "kernel_manager",
    "kill_kernel",
    "register_engine",
    "start_kernel",
    "stop_kernel",
    "stop_kernel_soon",
    "wait_stopped",
]

log = logging.getLogger("jupyter_mlops")

ENGINE_NAME = "mlops"
_registered = False
#: kernels being shut down by :func:`stop_kernel_soon`
_stopping: set[threading.Thread] = set()
_stopping_lock = threading.Lock()
#: seconds between looks for a kernel's exit once it was asked to shut down
_EXIT_POLL_S = 0.01
#: seconds between papermill's writes of the executed notebook while its cells run
_SAVE_EVERY_S = 1.0


def kernel_manager(
    kernel_name: str,
    env: Mapping[str, str],
    cwd: str,
    log_path: str,
    kernel_dirs: Sequence[str] = (),
) -> Any:
    """Return an unstarted async kernel manager launching with ``env`` in ``cwd``.

    ``kernel_dirs`` are kernel spec folders searched before Jupyter's own (an isolated
    environment's kernel).

    The kernel process's own stdout/stderr (not cell outputs, which papermill keeps
    in the notebook) go to ``log_path``: crash reports stay with the run instead
    of interleaving with the caller's terminal.
    """
    from jupyter_client.manager import AsyncKernelManager

    from .kernel_client import ReadyKernelClient

    class _LaunchKernelManager(AsyncKernelManager):
        client_factory = ReadyKernelClient

        # nbclient stops the channels of the client it makes only when it made the manager
        # too; given ours, it leaves them open (a ZMQ context, its two threads, the heartbeat
        # thread and their descriptors per execution). The manager ends them with the kernel.
        def client(self, **kw: Any) -> Any:
            kc = super().client(**kw)
            self.__dict__.setdefault("_mlops_clients", []).append(kc)
            return kc

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            if not restart:
                for kc in self.__dict__.pop("_mlops_clients", []):
                    kc.stop_channels()
            await super()._async_cleanup_resources(restart=restart)

        # A restart starts the kernel again through ``_async_start_kernel`` with the saved
        # arguments: the log is opened afresh there, for both.
        async def _async_start_kernel(self, **kw: Any) -> None:
            _fork_from_template(self, env)
            # The child inherits (or is sent) its own copy of the descriptor at launch.
            with open(log_path, "ab") as log:
                kw.update(env=dict(env), cwd=cwd, stdout=log, stderr=log)
                await super()._async_start_kernel(**kw)

        start_kernel = _async_start_kernel

        # The control socket is made on the thread that started the kernel. Sent from the
        # loop of another thread (kernels are stopped on a thread of their own), a shutdown
        # request waited there tens of milliseconds and at times past the wait after which
        # jupyter_client ends the kernel with SIGTERM, skipping its exit handlers. A socket
        # made by the stopping thread sends it at once.
        async def _async_request_shutdown(self, restart: bool = False) -> None:
            self._close_control_socket()
            await super()._async_request_shutdown(restart=restart)

        # jupyter_client looks for the kernel's exit every 0.1 s after asking it to shut
        # down: on average 50 ms added to every execution for a kernel that exits at once.
        async def _async_finish_shutdown(
            self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
        ) -> None:
            await super()._async_finish_shutdown(waittime, _EXIT_POLL_S, restart)

    extra: dict[str, Any] = {}
    if kernel_dirs:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager()
        specs.kernel_dirs = [*kernel_dirs, *specs.kernel_dirs]
        extra["kernel_spec_manager"] = specs
    return _LaunchKernelManager(kernel_name=kernel_name, **extra, **_transport())


def kernel_interpreter(km: Any) -> str | None:
    """The program a kernel manager's kernel spec starts (``argv[0]``), if it has one."""
    try:
        argv = km.kernel_spec.argv
    except Exception:  # a manager without a spec (a pool's stand-in)
        return None
    return str(argv[0]) if argv else None


def _fork_from_template(km: Any, env: Mapping[str, str]) -> None:
    """Give ``km`` the provisioner that forks IPython kernels from a preloaded template.

    Only where forking is safe and not turned off (``MLOPS_FORK_KERNELS=0``), and only
    for a kernel spec that names no provisioner of its own; on a restart ``km`` keeps the
    provisioner it has.
    """
    from .fork.templates import fork_enabled

    if km.provisioner is not None or not fork_enabled(env):
        return
    spec = km.kernel_spec
    if spec is None or spec.metadata.get("kernel_provisioner"):
        return
    import uuid

    from .fork.provisioner import ForkProvisioner

    km.kernel_id = km.kernel_id or str(uuid.uuid4())
    km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=spec, parent=km)


def _transport() -> dict[str, str]:
    """Unix sockets at a path of this kernel's own, where the platform has them.

    Free TCP ports are found by binding port 0 and closing it again, which only one
    process can keep track of: kernels launched at the same moment from several
    processes (Dask workers, two CLIs) can be handed the same port, and the second
    kernel dies before it answers. A socket path unique to each kernel cannot
    collide, and nothing listens on the network.
    """
    if not posix():  # loopback TCP, jupyter_client's default
        return {}
    import tempfile
    import uuid

    # short: a Unix socket path must stay under ~100 bytes, with the "-<port>" suffix
    return {
        "transport": "ipc",
        "ip": os.path.join(tempfile.gettempdir(), f"mlk-{uuid.uuid4().hex[:12]}"),
    }


def start_kernel(km: Any) -> None:
    """Launch the kernel process now; it boots while papermill is still being imported.

    nbclient finds the kernel running and only waits for it to be ready. Like
    nbclient, keep IPython's history in memory: parallel kernels would otherwise
    contend for one SQLite history file.
    """
    from jupyter_core.utils import run_sync

    run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"])


def stop_kernel(km: Any) -> None:
    """Shut the kernel of ``km`` down gracefully (killed after its wait time), if running."""
    if km is None or not km.has_kernel:
        return
    import zmq
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=False)
    except zmq.ZMQError:
        # The client already closed its sockets (the kernel died while starting):
        # there is no one left to ask, so end the process.
        run_sync(km.shutdown_kernel)(now=True)


def kill_kernel(km: Any) -> None:
    """End the kernel process of ``km`` at once (no shutdown request, no exit handlers)."""
    if km is None or not km.has_kernel:
        return
    from jupyter_core.utils import run_sync

    run_sync(km.shutdown_kernel)(now=True)


def stop_kernel_soon(km: Any) -> None:
    """Shut the kernel of ``km`` down on a thread of its own; :func:`wait_stopped` joins it.

    A kernel with MLflow loaded takes seconds to tear down after it has written its last
    values; a cancelled execution need not hold its caller for that. The thread is not a
    daemon: this process does not exit leaving the kernel behind.
    """
    if km is None or not km.has_kernel:
        return
    thread = threading.Thread(target=_stop_quietly, args=(km,), name="mlops-kernel-stop")
    with _stopping_lock:
        _stopping.add(thread)
    thread.start()


def _stop_quietly(km: Any) -> None:
    try:
        stop_kernel(km)
    except Exception as exc:  # the kernel is gone either way; nobody waits for a result
        log.debug("jupyter-mlops: stopping a cancelled kernel: %s", exc)
    finally:
        with _stopping_lock:
            _stopping.discard(threading.current_thread())


def wait_stopped() -> None:
    """Wait until every kernel handed to :func:`stop_kernel_soon` has stopped."""
    with _stopping_lock:
        threads = list(_stopping)
    for thread in threads:
        thread.join()


def _watch(nb_man: Any, progress: ProgressCallback) -> None:
    """Wrap the execution manager's per-cell hooks so each one reports progress."""
    cells = nb_man.nb.cells
    total = sum(1 for c in cells if c.get("cell_type") == "code")
    started = time.monotonic()
    done = 0
    cell_start, cell_complete = nb_man.cell_start, nb_man.cell_complete

    def on_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
        result = cell_start(cell, cell_index, **kw)
        if cell.get("cell_type") == "code":
            summary = cell_summary(cell.get("source", ""))
            elapsed = time.monotonic() - started
            progress(Progress("cell", done, total, cell_index, summary, elapsed))
        return result

    def on_complete(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
        nonlocal done
        result = cell_complete(cell, cell_index, **kw)
        if cell.get("cell_type") == "code":
            done += 1
            progress(Progress("done", done, total, cell_index, "", time.monotonic() - started))
        return result

    nb_man.cell_start, nb_man.cell_complete = on_start, on_complete
    progress(Progress("starting", 0, total))


def _save_at_most_every(nb_man: Any, seconds: float) -> None:
    """Let papermill write the executed notebook at most every ``seconds`` while cells run.

    papermill writes the whole notebook as each cell starts and as it ends: for a short
    notebook, most of what running it costs this process. The first write, the write
    when a cell fails and the last one are always made, so the file on disk is complete
    at the end and never more than ``seconds`` behind while the notebook runs.
    """
    save = nb_man.save
    last = [-float("inf")]

    def throttled(**kw: Any) -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            save(**kw)

    def always(hook: Any) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            nb_man.save = save
            try:
                return hook(*args, **kw)
            finally:
                nb_man.save = throttled

        return call

    nb_man.save = throttled
    for name in ("notebook_start", "cell_exception", "notebook_complete"):
        setattr(nb_man, name, always(getattr(nb_man, name)))


def register_engine() -> None:
    """Register the ``mlops`` engine with papermill (once per process)."""
    global _registered
    if _registered:
        return
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        """papermill's nbclient engine, plus progress callbacks per cell."""

        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, progress: ProgressCallback | None = None, **kw: Any
        ) -> Any:
            _save_at_most_every(nb_man, _SAVE_EVERY_S)
            if progress is not None:
                _watch(nb_man, progress)
            return super().execute_managed_notebook(nb_man, kernel_name, **kw)

    papermill_engines.register(ENGINE_NAME, ProgressEngine)
    _registered = True
