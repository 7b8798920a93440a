"""``%mlops`` subcommands for the model registry: register, models, promote, history."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..models import api
from ..models.gates import PromotionRefused
from ._registry import subcommand


def _variable(shell: Any, name: str, option: str) -> Any:
    if not name.isidentifier():
        raise UsageError(f"{option} takes a variable name, got {name!r}; e.g. {option} clf")
    if name not in shell.user_ns:
        raise UsageError(f"no variable {name!r} in the notebook; define it first ({option} {name})")
    return shell.user_ns[name]


@subcommand("register", "%mlops register clf --name churn --data train --alias candidate")
@argument("var", help="variable holding the fitted model")
@argument("--name", required=True, help="registered model name (created on first use)")
@argument("--data", help="snapshot whose first rows become the input example, e.g. train")
@argument("--example", metavar="VAR", help="variable holding example input rows")
@argument("--alias", help="alias to point at the new version, e.g. candidate")
@argument("--description", help="version description")
def register(shell: Any, args: Any) -> None:
    """Log a model to the active run and register a new version with its lineage."""
    model = _variable(shell, args.var, "VAR")
    example = _variable(shell, args.example, "--example") if args.example else None
    version = api.register_model(
        model,
        args.name,
        data=args.data,
        example=example,
        alias=args.alias,
        description=args.description,
    )
    print(version)
    snaps = version.lineage.get("mlops.lineage.snapshots", "[]")
    if snaps != "[]":
        print(f"  snapshots: {snaps}")


@subcommand("models", "%mlops models churn")
@argument("name", nargs="?", help="one model (default: all)")
def models(shell: Any, args: Any) -> Any:
    """List models, versions, aliases and each version's source-run metrics."""
    return api.models(args.name)


@subcommand(
    "promote",
    '%mlops promote churn 3 --alias production --require "accuracy>=0.9" '
    "--beat production --on accuracy",
)
@argument("name", help="registered model name")
@argument("version", help="version number to promote")
@argument("--alias", required=True, help="alias to move, e.g. production")
@argument("--require", action="append", default=[], metavar="EXPR", help='e.g. "f1>=0.8"')
@argument("--beat", metavar="ALIAS", help="must beat the version holding this alias")
@argument("--on", metavar="METRIC", help="metric compared by --beat")
@argument("--lower-is-better", action="store_true", help="for --on metrics like loss")
def promote(shell: Any, args: Any) -> None:
    """Move an alias to a version only if every gate passes; print the gate report."""
    try:
        report = api.promote(
            args.name,
            args.version,
            args.alias,
            require=args.require,
            beat=args.beat,
            on=args.on,
            lower_is_better=args.lower_is_better,
        )
    except PromotionRefused as exc:
        print(exc.report.table())
        raise
    print(report.table())
    moved = f"from version {report.previous}" if report.previous else "(new alias)"
    print(f"{args.alias} -> {report.model} version {report.version} {moved}")


@subcommand("history", "%mlops history churn")
@argument("name", help="registered model name")
def history(shell: Any, args: Any) -> Any:
    """Show the audit trail: every promotion and refusal of a model, oldest first."""
    return api.history(args.name)


@subcommand(
    "predict",
    "%mlops predict churn@production customers@v7 -o scores.parquet --id-column customer_id",
)
@argument("ref", help="NAME@ALIAS, NAME/VERSION or NAME (latest)")
@argument("input", help="a .csv/.parquet file or folder, SNAPSHOT@vN, or a DataFrame variable")
@argument("-o", "--output", metavar="FILE", help="also write the scores (.parquet or .csv)")
@argument("--id-column", metavar="COL", help="column naming each row (default: row)")
@argument("--batch-size", type=int, default=100_000, metavar="N", help="rows at a time")
@argument("--experiment", metavar="NAME", help="experiment of the run")
def predict(shell: Any, args: Any) -> Any:
    """Score a file, snapshot or DataFrame in batches as a run; print a summary, return scores."""
    import pandas as pd

    from ..models.batch_scoring import summary_line
    from ..models.production_api import predict

    data: Any = args.input
    value = shell.user_ns.get(args.input) if args.input.isidentifier() else None
    if isinstance(value, pd.DataFrame):
        data = value
    scores = predict(
        args.ref, data, output=args.output, id_column=args.id_column,
        batch_size=args.batch_size, experiment=args.experiment,
    )  # fmt: skip
    print(summary_line(scores.attrs["mlops"]))
    return scores
