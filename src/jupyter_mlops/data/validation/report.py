"""The validation report: pass/fail, the anomalies table, HTML and JSON, run logging."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...json_values import json_scalar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .rules import DataSchema

__all__ = ["ValidationReport", "log_validation"]

_STYLE = (
    "<style>.mlops-validate td,.mlops-validate th{padding:2px 8px;text-align:left}"
    ".mlops-validate td.n{text-align:right}</style>"
)


@dataclass
class ValidationReport:
    """Result of :func:`jupyter_mlops.data.validate`.

    Attributes
    ----------
    anomalies : pandas.DataFrame
        One row per problem: column, kind, detail, count and share of rows (when per row).
    rows : int
        Rows validated.
    against : str
        The reference: a snapshot ref, or ``schema`` when rules were given directly.
    data : str or None
        The validated data's snapshot ref, when it was one.
    """

    anomalies: pd.DataFrame
    rows: int
    against: str
    data: str | None = None
    schema: DataSchema | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """True when no anomaly was found."""
        return self.anomalies.empty

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        records = [
            {k: json_scalar(v) for k, v in row.items()}
            for row in self.anomalies.to_dict(orient="records")
        ]
        return {
            "passed": self.passed,
            "rows": self.rows,
            "against": self.against,
            "data": self.data,
            "anomalies": records,
        }

    def summary(self) -> str:
        """One line: passed, or how many anomalies of which kinds."""
        what = f"{self.data or 'data'} ({self.rows:,} rows) against {self.against}"
        if self.passed:
            return f"validation passed: {what}, no anomalies"
        kinds = self.anomalies["kind"].value_counts(sort=False)
        listed = ", ".join(f"{n} {k}" for k, n in kinds.items())
        count = len(self.anomalies)
        noun = "anomaly" if count == 1 else "anomalies"
        return f"validation FAILED: {what}: {count} {noun} ({listed})"

    def to_html(self) -> str:
        """Standalone HTML: the summary line and the anomalies table (text escaped)."""
        head = f"<p><b>{html.escape(self.summary())}</b></p>"
        if self.passed:
            return _STYLE + head
        header = "".join(f"<th>{html.escape(c)}</th>" for c in self.anomalies.columns)
        body = "".join(_html_row(row) for row in self.anomalies.to_dict(orient="records"))
        return f'{_STYLE}{head}<table class="mlops-validate"><tr>{header}</tr>{body}</table>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        if self.passed:
            return self.summary()
        return f"{self.summary()}\n{self.anomalies.to_string(index=False)}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _html_row(row: dict[str, Any]) -> str:
    cells = []
    for key, value in row.items():
        value = json_scalar(value)
        if key == "share" and value is not None:
            text, cls = f"{value:.2%}", ' class="n"'
        else:
            text, cls = (
                ("" if value is None else str(value)),
                ' class="n"' if key == "count" else "",
            )
        cells.append(f"<td{cls}>{html.escape(text)}</td>")
    return f"<tr>{''.join(cells)}</tr>"


def log_validation(
    report: ValidationReport, inputs: list[tuple[dict[str, Any], str]]
) -> str | None:
    """Log ``report`` on the active run, if any; return the run id.

    Writes ``validation/report.{html,json}``, the metric ``validation.anomalies``
    and records each ``(manifest, context)`` in ``inputs`` as a dataset input.
    """
    from ...tracking import api
    from ..lineage import log_input

    tracker = api.tracker()
    run = tracker.active
    if run is None:
        return None
    tracker.log_metrics({"validation.anomalies": float(len(report.anomalies))})
    tracker.log_text(report.to_html(), "validation/report.html")
    tracker.log_text(json.dumps(report.to_dict(), indent=2, default=str), "validation/report.json")
    tracker.flush()
    for manifest, context in inputs:
        log_input(manifest, context)
    return run.run_id
