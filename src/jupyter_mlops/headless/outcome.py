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
    #: the run's name (the notebook's name unless one was given)
    run_name: str = ""
    #: where the HTML rendering of the executed notebook went, once recorded
    html: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the notebook ran to the end."""
        return self.status == "FINISHED"

    def message(self) -> str:
        """Run, duration and where the outputs went when it worked; else the failure paragraph."""
        if self.failure is not None:
            return self.failure.paragraph(self.notebook.name, self.output_path, self.run_id)
        if self.error:
            return (
                f"{self.notebook.name}: {self.error}\nRun {self.run_id} was marked {self.status}."
            )
        name = f" ({self.run_name})" if self.run_name else ""
        lines = [
            f"run {self.run_id}{name} {self.status} in {self.duration_s:.1f} s",
            f"  executed notebook: {self.output_path}",
        ]
        if self.html:
            lines.append(f"  HTML rendering:    {self.html}")
        return "\n".join(lines)
