"""HTML for drift reports: the table plus overlaid histograms of drifted columns."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["render_html"]

_STYLE = (
    "<style>.mlops-drift td,.mlops-drift th{padding:2px 8px;text-align:right}"
    ".mlops-drift tr.drifted{background:#fde2e1}</style>"
)


class RenderableDrift(Protocol):
    """What the renderer reads of a drift report (``drift.DriftReport`` has it all)."""

    table: pd.DataFrame
    threshold: float
    skipped: dict[str, str]
    samples: dict[str, tuple[Any, Any]]

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""

    @property
    def share_drifted(self) -> float:
        """Drifted columns / compared columns."""


def render_html(report: RenderableDrift) -> str:
    """Standalone HTML for ``report``; plots need matplotlib and are skipped without it."""
    head = (
        f"<p><b>{len(report.drifted_columns)}/{len(report.table)}</b> columns drifted "
        f"({report.share_drifted:.0%}, p &lt; {report.threshold})</p>"
    )
    rows = []
    for row in report.table.to_dict(orient="records"):
        cls = ' class="drifted"' if row["drifted"] else ""
        cells = "".join(f"<td>{html.escape(_fmt(row[k]))}</td>" for k in report.table.columns)
        rows.append(f"<tr{cls}>{cells}</tr>")
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in report.table.columns)
    table = f'<table class="mlops-drift"><tr>{header}</tr>{"".join(rows)}</table>'
    skipped = "".join(
        f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in report.skipped.items()
    )
    notes = f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else ""
    return _STYLE + head + table + notes + _plots(report)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _plots(report: RenderableDrift) -> str:
    if not report.drifted_columns:
        return ""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return "<p>(install matplotlib for histograms of drifted columns)</p>"
    images = []
    for name in report.drifted_columns[:24]:
        fig, ax = plt.subplots(figsize=(4, 2.6))
        _draw(ax, report.samples.get(name))
        ax.set_title(name)
        ax.legend(fontsize=7)
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode()
        images.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}"/>')
    return "<div>" + "".join(images) + "</div>"


def _draw(ax: Any, sample: Any) -> None:
    if sample is None:
        return
    first, second = sample
    if isinstance(first, np.ndarray):
        edges = np.histogram_bin_edges(np.concatenate([first, second]), bins=30)
        ax.hist(first, bins=edges, alpha=0.5, density=True, label="reference")
        ax.hist(second, bins=edges, alpha=0.5, density=True, label="current")
        return
    labels, counts = first[:20], second[:, :20]
    x = np.arange(len(labels))
    ref, cur = counts[0] / counts[0].sum(), counts[1] / counts[1].sum()
    ax.bar(x - 0.2, ref, width=0.4, label="reference")
    ax.bar(x + 0.2, cur, width=0.4, label="current")
    ax.set_xticks(x, [str(v)[:10] for v in labels], rotation=45, fontsize=7)
