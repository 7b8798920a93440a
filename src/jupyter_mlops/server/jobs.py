"""Headless runs started through the REST API: a bounded registry of background handles."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound

__all__ = ["Jobs", "notebook_inside"]

#: finished jobs kept for the sidebar to read their outcome
_KEEP = 50
#: folder (beside the notebook) receiving executed notebooks of headless runs
OUTPUT_DIR = "mlops-outputs"


def notebook_inside(root: Path, rel: str) -> Path:
    """Return notebook ``rel`` resolved under ``root``, refusing anything outside it."""
    text = (rel or "").strip()
    if not text or "\x00" in text:
        raise InvalidInput("give the notebook's path relative to the server root, e.g. train.ipynb")
    base = root.resolve()
    target = (base / text).resolve()
    if not target.is_relative_to(base):
        raise InvalidInput(f"notebook {rel!r} is outside the server's root directory")
    if target.suffix != ".ipynb":
        raise InvalidInput(f"{rel!r} is not a notebook; give a .ipynb file, e.g. train.ipynb")
    if not target.is_file():
        raise NotFound(f"no notebook {rel!r} under the server's root directory")
    return target


class Jobs:
    """Background notebook runs by id (``NotebookRun`` handles of the pipelines service)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._jobs: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, rel: str, params: dict[str, Any], experiment: str | None) -> dict[str, Any]:
        """Start notebook ``rel`` with ``params``; return its description."""
        from ..pipelines.api import run_notebook

        notebook = notebook_inside(self.root, rel)
        job_id = secrets.token_hex(8)
        # Beside the notebook, not under the hidden store, so Lab can open it.
        output = notebook.parent / OUTPUT_DIR / f"{notebook.stem}-{job_id}.ipynb"
        handle = run_notebook(
            notebook,
            params,
            background=True,
            experiment=experiment or None,
            cwd=notebook.parent,
            output_path=output,
        )
        with self._lock:
            self._jobs[job_id] = handle
            done = [k for k, h in self._jobs.items() if h.done()]
            for key in done[: max(0, len(self._jobs) - _KEEP)]:
                del self._jobs[key]
        return self.describe(job_id)

    def get(self, job_id: str) -> Any:
        with self._lock:
            handle = self._jobs.get(job_id)
        if handle is None:
            raise NotFound(f"no headless run {job_id!r}; GET headless lists them")
        return handle

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def describe(self, job_id: str) -> dict[str, Any]:
        """Return status, progress, run id and output notebook of job ``job_id``."""
        handle = self.get(job_id)
        progress = handle.progress
        output = handle.output_path
        return {
            "id": job_id,
            "notebook": self._relative(handle.notebook),
            "status": handle.status,
            "done": handle.done(),
            "run_id": handle.control.run_id,
            "output_path": self._relative(output) if output else None,
            "progress": {
                "phase": progress.phase,
                "cells_done": progress.cells_done,
                "cells_total": progress.cells_total,
                "cell_index": progress.cell_index,
                "cell_summary": progress.cell_summary,
                "elapsed_s": progress.elapsed_s,
                "text": progress.describe(),
            }
            if progress
            else None,
        }

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Interrupt job ``job_id`` (its run ends KILLED)."""
        self.get(job_id).cancel()
        return self.describe(job_id)

    def _relative(self, path: Path) -> str:
        resolved = Path(path).resolve()
        return str(resolved.relative_to(self.root)) if resolved.is_relative_to(self.root) else ""
