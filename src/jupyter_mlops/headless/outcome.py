"""What a headless execution ends with: its status, and the cell that stopped it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CellFailure", "HeadlessResult"]


@dataclass(frozen=True)
class CellFailure:
    """The cell that stopped a notebook."""

    cell_index: int
    exec_count: int | None
    ename: str
    evalue: str

    def paragraph(self, notebook: str, output_path: str | Path, run_id: str) -> str:
        """The message printed on stderr: cell, exception, where to look."""
        count = f"In [{self.exec_count}]" if self.exec_count is not None else "not executed"
        value = self.evalue.strip().splitlines()[0] if self.evalue.strip() else ""
        return (
            f"{notebook} failed in cell {self.cell_index} ({count}) with {self.ename}: {value}\n"
            f"The executed notebook, with papermill's error marker at that cell, is at "
            f"{output_path}\nRun {run_id} was marked FAILED."
        )


@dataclass
class HeadlessResult:
    """Outcome of one headless execution."""

    run_id: str
    experiment_id: str
    status: str
    notebook: Path
    output_path: Path
    params: dict[str, Any]
    duration_s: float
    failure: CellFailure | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the notebook ran to the end."""
        return self.status == "FINISHED"

    def message(self) -> str:
        """One line when it worked; the failure paragraph otherwise."""
        if self.failure is not None:
            return self.failure.paragraph(self.notebook.name, self.output_path, self.run_id)
        if self.error:
            return (
                f"{self.notebook.name}: {self.error}\nRun {self.run_id} was marked {self.status}."
            )
        return (
            f"run {self.run_id} {self.status} in {self.duration_s:.1f} s; "
            f"output notebook {self.output_path}"
        )
