"""What makes a warm worker outdated: its own code changed, or a store it opened was replaced.

An outdated worker answers ``outdated`` and exits; the client runs the notebook itself and
the next run starts a new worker (:mod:`.server`).
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["CodeWatch", "StoreWatch"]


class CodeWatch:
    """Notice when a module of this package that this process loaded changed on disk.

    A worker that kept serving old code after an upgrade (or an edit in a
    development checkout) would be a trap; one that restarted whenever any file
    changed would rarely be warm. So only the modules it actually runs count.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}
        self.changed()

    def changed(self) -> bool:
        """Whether a loaded module changed since it was first seen (new ones are recorded)."""
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            path = getattr(module, "__file__", None)
            if not path or not (name == "jupyter_mlops" or name.startswith("jupyter_mlops.")):
                continue
            try:
                st = os.stat(path)
            except OSError:
                return True
            stamp = (st.st_mtime_ns, st.st_size)
            if self._seen.setdefault(path, stamp) != stamp:
                return True
        return False


class StoreWatch:
    """Notice when an embedded store this process opened was deleted or replaced on disk.

    MLflow keeps the connections of the first store it opened for a URI, so a worker that
    outlived a user's ``rm -rf .mlops`` would write into (or fail on) a database that is
    gone. A run for such a store makes the worker outdated: the client runs it itself, on
    the new store, and the next run starts a new worker.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def record(self, tracking_uri: str) -> None:
        """Remember the database file of ``tracking_uri`` as it is now (once per store)."""
        from ...tracking.mlflow_bridge.store import sqlite_path

        db = sqlite_path(tracking_uri)
        if db is None or str(db) in self._seen:
            return
        with contextlib.suppress(OSError):
            st = os.stat(db)
            self._seen[str(db)] = (st.st_dev, st.st_ino)

    def replaced(self, tracking_uri: str) -> bool:
        """Whether the remembered database of ``tracking_uri`` is gone or another file."""
        from ...tracking.mlflow_bridge.store import sqlite_path

        db = sqlite_path(tracking_uri)
        seen = self._seen.get(str(db)) if db is not None else None
        if db is None or seen is None:
            return False
        try:
            st = os.stat(db)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != seen
