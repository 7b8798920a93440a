"""Per-column drift between a reference and a current sample.

Numeric (and datetime) columns: two-sample Kolmogorov-Smirnov
(``scipy.stats.ks_2samp``); other columns: chi-square test of homogeneity on the
category counts (``scipy.stats.chi2_contingency``). Both also get the
population stability index (PSI): numeric values binned at the reference's
deciles, categories as they are.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInput
from ..json_values import json_scalar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DriftReport", "compute_drift", "log_drift", "psi"]

_COLUMNS = ["column", "kind", "test", "statistic", "p_value", "psi", "drifted"]
_EPS = 1e-4
#: text columns with more distinct values than this are identifiers, not categories
MAX_CATEGORIES = 200


@dataclass
class DriftReport:
    """Result of :func:`jupyter_mlops.data.drift`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per column: column, kind, test, statistic, p_value, psi, drifted.
    threshold : float
        A column drifted when its p-value is below this.
    skipped : dict
        Columns not compared, with the reason.
    """

    table: pd.DataFrame
    threshold: float
    skipped: dict[str, str] = field(default_factory=dict)
    samples: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [str(c) for c in self.table.loc[self.table["drifted"], "column"]]

    @property
    def share_drifted(self) -> float:
        """Drifted columns / compared columns (0 when none were compared)."""
        return len(self.drifted_columns) / len(self.table) if len(self.table) else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form of the report."""
        rows = [
            {k: json_scalar(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return {
            "threshold": self.threshold,
            "share_drifted": self.share_drifted,
            "drifted_columns": self.drifted_columns,
            "columns": rows,
            "skipped": self.skipped,
        }

    def to_html(self) -> str:
        """Standalone HTML: the table, and histograms of drifted columns (needs matplotlib)."""
        from .drift_render import render_html

        return render_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        head = (
            f"drift: {len(self.drifted_columns)}/{len(self.table)} columns drifted "
            f"({self.share_drifted:.0%}, p < {self.threshold})"
        )
        return f"{head}\n{self.table.to_string(index=False)}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    threshold: float = 0.05,
    columns: list[str] | None = None,
) -> DriftReport:
    """Compare every shared column of two frames; see the module docstring."""
    import pandas as pd

    if not 0 < threshold < 1:
        raise InvalidInput(f"threshold must be a p-value between 0 and 1, got {threshold!r}")
    shared = [c for c in reference.columns if c in current.columns]
    if columns is not None:
        unknown = [c for c in columns if c not in shared]
        if unknown:
            raise InvalidInput(
                f"column(s) {', '.join(map(str, unknown))} not in both frames; shared: "
                f"{', '.join(map(str, shared))}"
            )
        shared = list(columns)
    skipped = {str(c): "only in reference" for c in reference.columns if c not in current.columns}
    skipped.update(
        {str(c): "only in current" for c in current.columns if c not in reference.columns}
    )
    rows, samples = [], {}
    for name in shared:
        ref, cur = reference[name].dropna(), current[name].dropna()
        if len(ref) == 0 or len(cur) == 0:
            skipped[str(name)] = "no values in one of the samples"
            continue
        if not (_numeric(ref) and _numeric(cur)):
            distinct = max(ref.nunique(), cur.nunique())
            if distinct > MAX_CATEGORIES:
                skipped[str(name)] = f"{distinct} distinct values: an identifier, not a category"
                continue
        row, sample = _column(ref, cur)
        row = {"column": str(name), **row}
        row["drifted"] = bool(row["p_value"] < threshold)
        rows.append(row)
        samples[str(name)] = sample
    table = pd.DataFrame(rows, columns=_COLUMNS)
    return DriftReport(table, threshold, skipped, samples)


def _column(ref: pd.Series, cur: pd.Series) -> tuple[dict[str, Any], tuple[Any, Any]]:
    import pandas as pd
    from scipy import stats

    if _numeric(ref) and _numeric(cur):
        a, b = _as_numbers(ref), _as_numbers(cur)
        result = stats.ks_2samp(a, b)
        row = {
            "kind": "numeric",
            "test": "ks",
            "statistic": float(result.statistic),
            "p_value": float(result.pvalue),
            "psi": psi_numeric(a, b),
        }
        return row, (a, b)
    counts = pd.concat(
        [ref.astype(str).value_counts(), cur.astype(str).value_counts()], axis=1
    ).fillna(0)
    observed = counts.to_numpy(dtype=float).T
    if observed.shape[1] < 2:
        chi2, p = 0.0, 1.0
    else:
        chi2_res = stats.chi2_contingency(observed)
        chi2, p = float(chi2_res.statistic), float(chi2_res.pvalue)
    row = {
        "kind": "categorical",
        "test": "chi2",
        "statistic": chi2,
        "p_value": p,
        "psi": psi(observed[0], observed[1]),
    }
    return row, (counts.index.to_list(), observed)


def _numeric(s: pd.Series) -> bool:
    import pandas.api.types as ptypes

    return bool(
        (ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype))
        or ptypes.is_datetime64_any_dtype(s.dtype)
        or ptypes.is_timedelta64_dtype(s.dtype)
    )


def _as_numbers(s: pd.Series) -> np.ndarray:
    import pandas as pd
    import pandas.api.types as ptypes

    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return s.astype("datetime64[ns]").astype("int64").to_numpy(dtype=float)
    if ptypes.is_timedelta64_dtype(s.dtype):
        return s.astype("timedelta64[ns]").astype("int64").to_numpy(dtype=float)
    return s.to_numpy(dtype=float)


def psi(expected_counts: np.ndarray, actual_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins."""
    e = np.asarray(expected_counts, dtype=float)
    a = np.asarray(actual_counts, dtype=float)
    e = np.clip(e / e.sum(), _EPS, None)
    a = np.clip(a / a.sum(), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_numeric(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """PSI with bins at the reference's quantiles (outer bins open-ended)."""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    idx_ref = np.searchsorted(edges, ref, side="right")
    idx_cur = np.searchsorted(edges, cur, side="right")
    n = len(edges) + 1
    return psi(np.bincount(idx_ref, minlength=n), np.bincount(idx_cur, minlength=n))


_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def log_drift(report: DriftReport, prefix: str = "drift") -> str | None:
    """Log ``report`` to the active run (metrics + ``drift/report.{html,json}``); return its id."""
    from ..tracking import api

    tracker = api.tracker()
    run = tracker.active
    if run is None:
        return None
    metrics: dict[str, float] = {f"{prefix}.share_drifted": report.share_drifted}
    for row in report.table.to_dict(orient="records"):
        col = _KEY_UNSAFE.sub("_", row["column"])[:200] or "_"
        for stat in ("psi", "p_value", "statistic"):
            value = float(row[stat])
            if math.isfinite(value):
                metrics[f"{prefix}.{col}.{stat}"] = value
        metrics[f"{prefix}.{col}.drifted"] = float(row["drifted"])
    tracker.log_metrics(metrics)
    tracker.log_text(report.to_html(), f"{prefix}/report.html")
    tracker.log_text(json.dumps(report.to_dict(), indent=2), f"{prefix}/report.json")
    tracker.flush()
    return run.run_id
