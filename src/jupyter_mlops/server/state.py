"""What the handlers share: the store settings of the server's root and a lazy client."""

from __future__ import annotations

import contextlib
import importlib
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings, load_settings
from ..tracking.mlflow_bridge.store import open_client
from .jobs import Jobs

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["ServerState"]


#: what the first run diff loads (cells, snapshots, their diff and drift)
_DIFF_MODULES = (
    "nbdime.diffing.notebooks",
    "jupyter_mlops.tracking.diff.api",
    "jupyter_mlops.data.api",
    "jupyter_mlops.data.reader",
    "jupyter_mlops.data.snapshot_diff",
    "jupyter_mlops.data.drift_report",
    "scipy.stats",
)


@dataclass
class ServerState:
    """Per-server state kept in the Tornado application settings.

    Parameters
    ----------
    root_dir : Path
        The Jupyter server's root directory: settings are discovered from it and
        headless runs are limited to notebooks inside it.
    """

    root_dir: Path
    _settings: Settings | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: parent of the private folder each artifact download gets (removed once sent)
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mlops-server-")))
    _jobs: Jobs | None = None

    @property
    def jobs(self) -> Jobs:
        """Headless runs started through this server."""
        with self._lock:
            if self._jobs is None:
                self._jobs = Jobs(self.root_dir)
            return self._jobs

    @property
    def settings(self) -> Settings:
        """Store settings for the server's root (resolved on first use)."""
        with self._lock:
            if self._settings is None:
                self._settings = load_settings(self.root_dir)
            return self._settings

    def warm_up(self) -> threading.Thread:
        """Open the store in the background so the sidebar's first request is fast.

        Then load what the first run diff needs (nbdime, the data diff and drift), which
        would otherwise cost that request seconds.
        """

        def _open() -> None:
            # A failure is reported again, as JSON, on the first request.
            with contextlib.suppress(Exception):
                _ = self.client
            for module in _DIFF_MODULES:
                with contextlib.suppress(Exception):
                    importlib.import_module(module)

        thread = threading.Thread(target=_open, name="mlops-store-warm-up", daemon=True)
        thread.start()
        return thread

    @property
    def client(self) -> MlflowClient:
        """The MLflow client of :attr:`settings` (blocking on first use: run it off the loop)."""
        return open_client(self.settings)
