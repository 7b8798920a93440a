"""A headless execution running in a background thread, with a handle to follow it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .execution import ExecutionControl, HeadlessResult
from .progress import Progress

__all__ = ["NotebookRun"]


class NotebookRun:
    """Handle on a notebook executing in the background.

    Returned by ``mlops.run_notebook(..., background=True)`` and ``%mlops run_notebook``.

    Examples
    --------
    >>> job = mlops.run_notebook("train.ipynb", {"lr": 0.05}, background=True)  # doctest: +SKIP
    >>> job                     # status and progress  # doctest: +SKIP
    >>> result = job.wait()     # doctest: +SKIP
    """

    def __init__(
        self, notebook: Path, target: Callable[..., HeadlessResult], **kwargs: Any
    ) -> None:
        self.notebook = notebook
        self.control = ExecutionControl()
        self.progress: Progress | None = None
        self._result: HeadlessResult | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._main,
            args=(target, kwargs),
            name=f"mlops-run-{notebook.stem}",
            daemon=True,
        )
        self._thread.start()

    def _main(self, target: Callable[..., HeadlessResult], kwargs: dict[str, Any]) -> None:
        try:
            self._result = target(control=self.control, progress=self._on_progress, **kwargs)
        except BaseException as exc:
            self._error = exc
        finally:
            self.control.created.set()
            self.control.over.set()
            self._done.set()

    def _on_progress(self, event: Progress) -> None:
        if event.phase != "finished":
            self.progress = event

    # -- public ------------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        """The MLflow run (waits for it to be created; ``None`` if creating it failed)."""
        self.control.created.wait()
        return self.control.run_id

    @property
    def status(self) -> str:
        """``STARTING``, ``RUNNING``, then ``FINISHED``, ``FAILED``, ``KILLED`` or ``ERROR``."""
        if self._result is not None:
            return self._result.status
        if self._error is not None:
            return "ERROR"
        return "RUNNING" if self.control.run_id else "STARTING"

    @property
    def output_path(self) -> Path | None:
        """The executed notebook (known once the run exists)."""
        return self.control.output_path

    @property
    def error(self) -> BaseException | None:
        """Why the execution could not run (status ``ERROR``), else ``None``."""
        return self._error

    def done(self) -> bool:
        """Whether the execution is over."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> HeadlessResult:
        """Block until the notebook has run; return its result.

        Raises
        ------
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.notebook.name} still running after {timeout} s")
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError(f"{self.notebook.name} ended without a result")
        return self._result

    def cancel(self) -> None:
        """Interrupt the notebook; its run ends KILLED."""
        self.control.cancel()

    def __repr__(self) -> str:
        where = self.progress.describe() if self.progress else "starting kernel"
        if self.done():
            where = self._result.message().splitlines()[0] if self._result else repr(self._error)
        run = self.control.run_id or "(creating run)"
        return f"<NotebookRun {self.notebook.name} {self.status}: {where}; run {run}>"
