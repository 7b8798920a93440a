"""What a kernel forked from a template does to become an ordinary ipykernel, and to end.

Loaded by the template script from this file (standard library only, like the template)
before it forks, so that a child runs it without compiling anything.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["become_kernel"]


def _watch_client(pid: int) -> None:
    """End this kernel when the process that started it is gone, as ipykernel's poller does."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = -1
        while True:
            if fd >= 0:
                poller = select.poll()  # not select(): a kernel may hold over 1024 descriptors
                poller.register(fd, select.POLLIN)
                poller.poll()
                break
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="mlops-kernel-parent", daemon=True).start()


def become_kernel(job: dict[str, Any]) -> None:
    """In the forked child: take the request's stdio, folder, environment and argv, and run."""
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log_fd = int(job["log_fd"])
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    cwd = str(job["cwd"])
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(job["env"]).items()})
    for name, value in dict(job.get("import_env") or {}).items():
        os.environ.setdefault(name, value)
    argv = [str(a) for a in job["argv"]]
    import ipykernel_launcher

    sys.argv = [str(ipykernel_launcher.__file__), *argv[3:]]
    sys.orig_argv = list(argv)
    _reseed()
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit():
        _watch_client(int(parent))
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance()
    except SystemExit as exc:
        _finish(exc.code)
    _let_control_finish(kernelapp.IPKernelApp)
    _finish(0)


def _let_control_finish(app_class: Any) -> None:
    """Let ipykernel's control thread end its reply to the shutdown request first.

    The kernel's main loop stops while that thread still publishes its ``idle`` status
    and flushes the output streams. ipykernel's exit handler stops the IOPub thread, then
    joins the control thread, whose flush waits for that stopped thread for ten seconds:
    past jupyter_client's wait, after which it ends the kernel with SIGTERM (about one
    shutdown in ten here). Stopped and joined now, the thread finishes its flush while
    IOPub still runs.
    """
    if not app_class.initialized():
        return
    thread = getattr(app_class.instance(), "control_thread", None)
    if thread is None or not thread.is_alive():
        return
    with contextlib.suppress(Exception):
        thread.stop()
        thread.join(timeout=5)


def _finish(code: object) -> None:
    """End the kernel as the interpreter would, but without tearing its modules down.

    What a program relies on at exit still happens: threads that are not daemons are
    waited for, exit handlers run (IPython's, which release the user's namespace; logging's;
    MLflow's) and the standard streams are flushed. Dismantling every module of a process
    that imported pandas and scikit-learn would add a tenth of a second to each execution.
    ``multiprocessing`` ends its forked processes the same way.
    """
    import atexit

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()  # type: ignore[union-attr]
    if code is None or isinstance(code, int):
        os._exit(code or 0)
    with contextlib.suppress(Exception):
        print(code, file=sys.__stderr__, flush=True)
    os._exit(1)


def _reseed() -> None:
    """Fresh entropy for the global generators a forked child would otherwise share."""
    import random

    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
