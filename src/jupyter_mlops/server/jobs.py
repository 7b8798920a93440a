"""Headless runs started through the REST API: a bounded registry of background handles.

Two kinds share it: ``headless`` (a notebook under the server root, with
parameters) and ``reproduce`` (a past run re-executed from its stored notebook,
whose job ends with the metric comparison).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MlopsError, NotFound
from ..headless.execution import OUTPUTS_FOLDER

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings
    from ..headless.background import NotebookRun
    from ..headless.execution import HeadlessResult
    from ..headless.reproduce import ReproduceReport

__all__ = ["Jobs", "notebook_inside"]

#: finished jobs kept for the sidebar to read their outcome
_KEEP = 50


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


@dataclass
class _Job:
    handle: NotebookRun
    kind: str
    label: str
    reproduction: _Reproduction | None = None


class _Reproduction:
    """Target of a background reproduce: keeps the report, hands back the run's result."""

    def __init__(self) -> None:
        self.report: ReproduceReport | None = None

    def __call__(self, **kwargs: Any) -> HeadlessResult:
        from ..headless.reproduce import reproduce_run

        self.report = reproduce_run(**kwargs)
        return self.report.result


class Jobs:
    """Background notebook runs by id (``NotebookRun`` handles of the pipelines service)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, rel: str, params: dict[str, Any], experiment: str | None) -> dict[str, Any]:
        """Start notebook ``rel`` with ``params``; return its description."""
        from ..headless.api import run_notebook
        from ..headless.background import NotebookRun

        notebook = notebook_inside(self.root, rel)
        job_id = secrets.token_hex(8)
        # Beside the notebook, not under the hidden store, so Lab can open it.
        output = notebook.parent / OUTPUTS_FOLDER / f"{notebook.stem}-{job_id}.ipynb"
        handle = run_notebook(
            notebook,
            params,
            background=True,
            experiment=experiment or None,
            cwd=notebook.parent,
            output_path=output,
        )
        if not isinstance(handle, NotebookRun):
            raise TypeError(f"a background run was expected, got {type(handle).__name__}")
        return self._add(job_id, _Job(handle, "headless", self._relative(notebook)))

    def reproduce(
        self,
        run_id: str,
        rtol: float,
        atol: float,
        settings: Settings,
        name: str,
        isolated: bool = False,
        allow_missing: bool = False,
    ) -> dict[str, Any]:
        """Re-execute past run ``run_id`` (named ``name``) in the background.

        The executed notebook goes to ``<root>/mlops-outputs/`` so Lab can open it;
        the job's description carries the metric comparison once it is over. With
        ``isolated``, in the run's recorded environment rebuilt by uv (``allow_missing``:
        without the distributions that cannot be installed).
        """
        from ..headless.background import NotebookRun
        from ..headless.reproduce import check_tolerances

        check_tolerances(rtol, atol)
        job_id = secrets.token_hex(8)
        output = self.root / OUTPUTS_FOLDER / f"reproduce-{run_id[:12]}-{job_id}.ipynb"
        target = _Reproduction()
        handle = NotebookRun(
            output,
            target,
            run_id=run_id,
            rtol=rtol,
            atol=atol,
            output_path=output,
            settings=settings,
            isolated=isolated,
            allow_missing=allow_missing,
        )
        job = _Job(handle, "reproduce", f"reproduce {name or run_id[:8]}", target)
        return self._add(job_id, job)

    def _add(self, job_id: str, job: _Job) -> dict[str, Any]:
        with self._lock:
            self._jobs[job_id] = job
            done = [k for k, j in self._jobs.items() if j.handle.done()]
            for key in done[: max(0, len(self._jobs) - _KEEP)]:
                del self._jobs[key]
        return self.describe(job_id)

    def get(self, job_id: str) -> NotebookRun:
        """The handle of job ``job_id``."""
        return self._job(job_id).handle

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no headless run {job_id!r}; GET headless lists them")
        return job

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def describe(self, job_id: str) -> dict[str, Any]:
        """Return status, progress, run id and output notebook of job ``job_id``."""
        job = self._job(job_id)
        handle = job.handle
        progress = handle.progress
        output = handle.output_path
        report = job.reproduction.report if job.reproduction else None
        return {
            "id": job_id,
            "kind": job.kind,
            "label": job.label,
            "notebook": self._relative(handle.notebook) if job.kind == "headless" else "",
            "status": handle.status,
            "error": _error_text(handle.error),
            "report": report.to_dict() if report else None,
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


def _error_text(error: BaseException | None) -> str | None:
    """One line for why a job could not run (our own messages as they are)."""
    if error is None:
        return None
    if isinstance(error, MlopsError):
        return str(error)
    return f"{type(error).__name__}: {error}".splitlines()[0]
