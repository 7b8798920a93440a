"""``mlops.diff``: two runs -> :class:`RunDiff`; two snapshots or frames -> the data diff.

The rule: runs are given by id (32 hex digits), by name, or as a run object; data is a
DataFrame (or other table), a :class:`~jupyter_mlops.SnapshotRef`, or a snapshot
reference written with ``@`` (``train@v2``, ``train@3f9c``, ``mlops://train@v2``). When
either side is data, or ``key=`` is given, the data diff answers; otherwise both sides
are runs. A bare snapshot name means a run of that name: write ``train@v3`` for a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from .report import DEFAULT_SECTIONS, SECTIONS, RunDiff

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from ...data.snapshot_diff import DiffReport
    from .sides import Side

__all__ = ["diff", "diff_runs", "is_data", "parse_sections"]


def is_data(value: Any) -> bool:
    """True when ``value`` names or holds data rather than a run (see the module's rule)."""
    if isinstance(value, str):
        return "@" in value or value.startswith("mlops://")
    if hasattr(value, "run_id"):  # a run object
        return False
    return value is not None


def _run_text(value: Any) -> str:
    return str(value.run_id) if hasattr(value, "run_id") else value


def parse_sections(only: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"code,params"`` or ``["code"]`` as sections in display order (default: all but outputs)."""
    if only is None or only == "":
        return DEFAULT_SECTIONS
    names = [s.strip() for s in (only.split(",") if isinstance(only, str) else only)]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise InvalidInput(
            f"unknown section {', '.join(unknown) or '(none)'}: choose from {', '.join(SECTIONS)},"
            " e.g. --only code,params"
        )
    return tuple(s for s in SECTIONS if s in names)


def diff(
    a: Any,
    b: Any = None,
    *,
    against: str | Path | None = None,
    only: str | Iterable[str] | None = None,
    all: bool = False,
    key: str | list[str] | None = None,
    store: str | None = None,
) -> RunDiff | DiffReport:
    """What changed between two runs, or between two snapshots or frames.

    Parameters
    ----------
    a, b
        Two runs (ids, names or run objects) for a :class:`RunDiff`; two snapshot
        references (``train@v1``) or frames for the data diff (``key`` and ``store``
        apply to it).
    against : path, optional
        Instead of ``b``: a notebook file as it is now (code and environment compared).
    only : str or list of str, optional
        Sections of a run diff: ``code, params, metrics, data, env, outputs``
        (default: all but ``outputs``).
    all : bool
        Show everything, not only what differs.

    Examples
    --------
    >>> d = mlops.diff("baseline", "tuned")  # doctest: +SKIP
    >>> d.params                             # doctest: +SKIP
    [{'key': 'lr', 'a': '0.1', 'b': '0.3'}]
    >>> mlops.diff("train@v1", "train@v2", key="id")  # doctest: +SKIP
    """
    if key is not None or is_data(a) or is_data(b):
        if against is not None:
            raise InvalidInput("--against compares a run with a notebook file, not snapshots")
        from ...data.api import diff as data_diff

        return data_diff(a, b, key=key, store=store)
    return diff_runs(
        _run_text(a),
        None if b is None else _run_text(b),
        against=against,
        only=only,
        everything=all,
    )


def diff_runs(
    a: str,
    b: str | None = None,
    *,
    against: str | Path | None = None,
    only: str | Iterable[str] | None = None,
    everything: bool = False,
    client: MlflowClient | None = None,
) -> RunDiff:
    """Compare run ``a`` with run ``b`` (or with the notebook file ``against``)."""
    from .sides import file_side, run_side

    sections = parse_sections(only)
    if (b is None) == (against is None):
        raise InvalidInput("give two runs (diff A B) or a run and a file (diff A --against NB)")
    if client is None:
        from .. import api

        client = api.tracker().client
    side_a = run_side(client, a)
    side_b = file_side(against) if against is not None else run_side(client, str(b))
    return compare_sides(client, side_a, side_b, sections, everything)


def compare_sides(
    client: MlflowClient, a: Side, b: Side, sections: tuple[str, ...], everything: bool
) -> RunDiff:
    """Build the :class:`RunDiff` of two read sides."""
    from .code import compare_code, compare_outputs
    from .inputs import compare_inputs
    from .values import compare_env, compare_params

    out = RunDiff(a.header(), b.header(), sections, everything, missing=[*a.notes, *b.notes])
    if a.experiment_id and b.experiment_id and a.experiment_id != b.experiment_id:
        out.missing.append(
            f"the runs are in different experiments ({a.experiment_id}, {b.experiment_id})"
        )
    lacking = [s.label for s in (a, b) if s.notebook is None]
    if lacking and ("code" in sections or "outputs" in sections):
        out.missing.append(f"no stored notebook on {' and '.join(lacking)}: code not compared")
    elif a.notebook is not None and b.notebook is not None:
        if "code" in sections:
            out.code = compare_code(
                a.notebook, b.notebook, a.injected, b.injected, everything=everything
            )
        if "outputs" in sections:
            out.outputs = compare_outputs(a.notebook, b.notebook)
    if a.params is not None and b.params is not None:
        if "params" in sections:
            out.params = compare_params(a.params, b.params, everything=everything)
        if "metrics" in sections:
            out.metrics = _metrics(client, a, b, everything)
    if "data" in sections and a.inputs is not None and b.inputs is not None:
        out.data = compare_inputs(a.inputs, b.inputs, everything=everything)
    if "env" in sections:
        out.env = compare_env(a.env, b.env, everything=everything)
        lacking = [s.label for s in (a, b) if s.env.get("packages") is None]
        if lacking:
            out.missing.append(f"no recorded packages on {' and '.join(lacking)}")
    return out


def _metrics(client: MlflowClient, a: Side, b: Side, everything: bool) -> list[dict[str, Any]]:
    from .values import compare_metrics, metric_histories

    rows = compare_metrics(a.metrics or {}, b.metrics or {}, everything=everything)
    keys = [r["key"] for r in rows]
    ha, hb = metric_histories(client, a.run_id, keys), metric_histories(client, b.run_id, keys)
    for row in rows:
        if row["key"] in ha or row["key"] in hb:
            row["history"] = {"a": ha.get(row["key"], []), "b": hb.get(row["key"], [])}
    return rows
