"""``%mlops`` subcommands for data snapshots: snapshot, snapshots, drift, validate (diff: _diff)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..data import api
from ._registry import subcommand


def _variable(shell: Any, name: str, form: str) -> Any:
    if not name.isidentifier():
        raise UsageError(f"{name!r} is not a variable name; usage: {form}")
    if name not in shell.user_ns:
        raise UsageError(f"no variable {name!r} in the notebook; define it first. Usage: {form}")
    return shell.user_ns[name]


def _data_or_ref(shell: Any, text: str) -> Any:
    """A variable of that name when the notebook has one, else a snapshot reference."""
    if text.isidentifier() and text in shell.user_ns:
        return shell.user_ns[text]
    return text


@subcommand("snapshot", "%mlops snapshot train_df --name train")
@argument("variable", help="DataFrame, pyarrow Table or numpy array to store")
@argument("--name", required=True, help="snapshot name: letters, digits, _ . - (max 128)")
def snapshot(shell: Any, args: Any) -> api.SnapshotRef:
    """Store a variable as the next version of a named snapshot (shown once, as the result)."""
    data = _variable(shell, args.variable, "%mlops snapshot VAR --name NAME")
    return api.snapshot(data, args.name)


@subcommand("snapshots", "%mlops snapshots train")
@argument("name", nargs="?", help="list the versions of this snapshot (default: every name)")
def snapshots(shell: Any, args: Any) -> Any:
    """Table of snapshot versions (or the latest version of every snapshot)."""
    return api.snapshots(args.name)


@subcommand("drift", "%mlops drift train@v1 live_df --threshold 0.01")
@argument("reference", help="snapshot ref or variable")
@argument("current", help="snapshot ref or variable")
@argument("--threshold", type=float, default=0.05, help="p-value below which a column drifted")
@argument("--columns", default="", metavar="A,B", help="only these columns")
def drift(shell: Any, args: Any) -> Any:
    """Per-column drift (KS / chi-square, PSI); logged to the active run."""
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] or None
    ref = _data_or_ref(shell, args.reference)
    cur = _data_or_ref(shell, args.current)
    return api.drift(ref, cur, threshold=args.threshold, columns=columns)


@subcommand("validate", "%mlops validate new_df --against train@v3")
@argument("data", help="variable (DataFrame...) or snapshot ref to check")
@argument(
    "--against",
    required=True,
    help="reference snapshot ref (its saved or inferred rules), or a variable holding a schema",
)
@argument("--margin", type=float, help="widen the reference's ranges by this share (default 0.1)")
def validate(shell: Any, args: Any) -> Any:
    """Anomalies of data against a snapshot: missing/new columns, dtypes, nulls, ranges, keys."""
    from ..data.validation.api import validate as run_validation

    against: Any = args.against
    schema = shell.user_ns.get(against) if against.isidentifier() else None
    if type(schema).__name__ in ("DataSchema", "DataFrameSchema"):
        against = schema  # mlops.data.infer_schema's result, edited, or a pandera schema
    return run_validation(_data_or_ref(shell, args.data), against, margin=args.margin)
