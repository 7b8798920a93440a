"""One importing thread at a time for jupyter-mlops's lazily loaded modules.

``%load_ext jupyter_mlops`` (and a Dask worker) import the services on a warm-up
thread while the kernel's thread keeps running cells. Two threads importing the
same modules at once can each meet a module the other is still executing: a
hook that reads it finds it half-initialised (``AttributeError: partially
initialized module``), and two imports entering a circular group from opposite
ends make Python hand one of them a half-initialised module instead of waiting.

So every import jupyter-mlops starts on its own goes through :func:`importing`
(one re-entrant lock), :func:`load` returns a module only once it is fully
imported (waiting for the thread importing it), and :func:`loaded` tells a hook,
without waiting, whether a module is ready. Standard library only: ``import
jupyter_mlops`` stays cheap.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from types import ModuleType

__all__ = ["importing", "load", "loaded"]

#: held by the thread importing jupyter-mlops's modules (re-entrant: imports nest)
_LOCK = threading.RLock()


@contextmanager
def importing() -> Iterator[None]:
    """Hold the import lock: the imports in the block run while no other thread's do."""
    with _LOCK:
        yield


def loaded(name: str) -> ModuleType | None:
    """The module ``name`` if it is fully imported, else None; never imports nor waits.

    A module another thread is still executing is in ``sys.modules`` already, with
    importlib's ``__spec__._initializing`` flag set until its body has run.
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def load(name: str, package: str | None = None) -> ModuleType:
    """Import ``name`` (relative to ``package``), waiting for any other thread's imports.

    Do not call it from code that runs while a module is being imported (an import
    hook): that thread holds the module's lock, which the lock holder may be waiting for.
    """
    absolute = name if package is None or not name.startswith(".") else _resolve(name, package)
    ready = loaded(absolute)
    if ready is not None:
        return ready
    with _LOCK:
        return import_module(absolute)


def _resolve(name: str, package: str) -> str:
    from importlib.util import resolve_name

    return resolve_name(name, package)
