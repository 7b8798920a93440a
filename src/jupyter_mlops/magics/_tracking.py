"""``%mlops`` subcommands for experiments, runs and logging."""

from __future__ import annotations

import ast
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..errors import MlopsError
from ..tracking import api
from ..tracking.writing.value_checks import to_metric
from ._kv import parse_pairs
from ._registry import subcommand


@subcommand("experiment", "%mlops experiment churn")
@argument("name", help="experiment to select (created when missing)")
def experiment(shell: Any, args: Any) -> None:
    """Select the experiment new runs go to."""
    experiment_id = api.experiment(args.name)
    print(f"experiment {args.name!r} (id {experiment_id})")


@subcommand("start", "%mlops start --name baseline --tag team=growth")
@argument("--name", help="run name (MLflow picks one when omitted)")
@argument("--tag", action="append", default=[], metavar="K=V", help="tag, repeatable")
def start(shell: Any, args: Any) -> None:
    """Start a run (nested under the active run, if any)."""
    form = "%mlops start [--name N] [--tag k=v ...]"
    tags = parse_pairs(args.tag, form, typed=False) if args.tag else {}
    run = api.start_run(args.name, tags)
    print(f"started run {run.name!r} ({run.run_id})")


@subcommand("end", "%mlops end --status FAILED")
@argument("--status", default="FINISHED", help="FINISHED (default), FAILED or KILLED")
def end(shell: Any, args: Any) -> None:
    """Flush and end the active run."""
    run = api.end_run(args.status)
    if run is None:
        print("no active run")
    else:
        print(f"ended run {run.name!r} ({run.run_id}) {args.status.upper()}")


@subcommand("log", "%mlops log lr=0.01 model=rf --step 3")
@argument(
    "pairs",
    nargs="*",
    metavar="K=V",
    help="numbers become metrics, other values params; a number named in the notebook's "
    "parameters cell, or already a param of the run, is a param",
)
@argument("--step", type=int, help="metric step (a stepped value is always a metric)")
def log(shell: Any, args: Any) -> None:
    """Log numbers as metrics and other values as params (settings' numbers as params)."""
    values = parse_pairs(args.pairs, "%mlops log k=v ... [--step N]", typed=True)
    api.log(step=args.step, **values)


@subcommand("params", "%mlops params model=rf depth=8")
@argument("pairs", nargs="*", metavar="K=V", help="params (stored as text)")
def params(shell: Any, args: Any) -> None:
    """Log params; a param cannot change value within a run."""
    api.log_params(parse_pairs(args.pairs, "%mlops params k=v ...", typed=False))


@subcommand("metrics", "%mlops metrics acc=0.91 loss=0.3 --step 10")
@argument("pairs", nargs="*", metavar="K=V", help="metrics (numbers)")
@argument("--step", type=int, help="metric step")
def metrics(shell: Any, args: Any) -> None:
    """Log metrics; every value must be a number."""
    values = parse_pairs(args.pairs, "%mlops metrics k=v ... [--step N]", typed=False)
    api.log_metrics(values, step=args.step)


@subcommand("tag", "%mlops tag team=growth")
@argument("pairs", nargs="*", metavar="K=V", help="tags (text)")
def tag(shell: Any, args: Any) -> None:
    """Set tags on the active run."""
    api.set_tags(parse_pairs(args.pairs, "%mlops tag k=v ...", typed=False))


@subcommand("artifact", "%mlops artifact plots/roc.png --dir plots")
@argument("path", help="file or folder to upload")
@argument("--dir", help="folder inside the run's artifacts")
def artifact(shell: Any, args: Any) -> None:
    """Upload a file or folder to the active run."""
    where = api.artifact(args.path, args.dir)
    print(f"logged artifact {where}")


@subcommand("autolog", "%mlops autolog sklearn --no-models")
@argument("flavor", nargs="?", default="all", help="all (every library MLflow autologs) or sklearn")
@argument("--no-models", action="store_true", help="do not log a model for each fit")
def autolog(shell: Any, args: Any) -> None:
    """Log every fit into the active run with MLflow autologging (one run per %%mlops run)."""
    flavor = api.autolog(args.flavor, log_models=not args.no_models)
    models = "no models" if args.no_models else "with models"
    print(f"autolog on for {flavor} ({models}): each fit logs into the active run")


@subcommand("flush", "%mlops flush")
def flush(shell: Any, args: Any) -> None:
    """Write every buffered value to the store now."""
    api.flush()


@subcommand("sync", "%mlops sync")
def sync(shell: Any, args: Any) -> None:
    """Replay values journaled while the tracking store was unreachable."""
    print(api.sync().summary())


@subcommand("runs", '%mlops runs --filter "metrics.acc > 0.8" --order-by "metrics.acc DESC"')
@argument("--experiment", action="append", help="experiment name (repeatable; default current)")
@argument("--filter", default="", help="MLflow search filter")
@argument("--order-by", action="append", help="e.g. 'metrics.acc DESC' (repeatable)")
@argument("--max", type=int, default=100, help="most rows to return (default 100)")
def runs(shell: Any, args: Any) -> Any:
    """Return runs as a DataFrame (newest first)."""
    return api.runs(args.experiment, args.filter, args.order_by, args.max)


@subcommand("status", "%mlops status")
def status(shell: Any, args: Any) -> None:
    """Show the store, root, experiment, active run and pending values."""
    info = api.status()
    run = info["active_run"]
    src = info["sources"]
    lines = [
        ("tracking URI", f"{info['tracking_uri']}  ({src.get('tracking_uri', 'default')})"),
        ("root", f"{info['root']}  ({src.get('home', 'default')})"),
        ("data store", info["data_uri"]),
        ("experiment", info["experiment"]),
        ("notebook", info["notebook"] or "(unknown)"),
        ("active run", f"{run['name']} ({run['id']}) {run['status']}" if run else "(none)"),
        ("pending values", str(info["pending"])),
        ("journaled files", f"{info['journaled_files']} (replay: %mlops sync)"),
    ]
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in lines))


@subcommand("run", "%%mlops run --name baseline --params lr,depth --metrics acc", cell=True)
@argument("--name", help="run name")
@argument("--params", default="", metavar="A,B", help="variables logged as params after the cell")
@argument("--metrics", default="", metavar="C,D", help="variables logged as metrics after the cell")
def run_cell(shell: Any, args: Any, cell: str) -> Any:
    """Run the cell inside its own run; log listed variables; FAILED if the cell raises."""
    param_names = _names(args.params, "--params")
    metric_names = _names(args.metrics, "--metrics")
    run = api.start_run(args.name)
    try:
        api.tracker().log_text(cell, "cell.py")
        value = _execute(shell, cell)
    except BaseException:
        api.end_run("FAILED")
        raise
    try:
        values = _read_vars(shell, param_names + metric_names)
        checked = {k: to_metric(k, values[k]) for k in metric_names}
        if param_names:
            api.log_params({k: values[k] for k in param_names})
        if checked:
            api.log_metrics(checked)
    except (UsageError, MlopsError):
        api.tracker().discard_run(run.run_id)
        raise
    api.end_run("FINISHED")
    return value


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise UsageError(
                f"{option} takes comma-separated variable names, got {name!r}; e.g. {option} a,b"
            )
    return names


def _read_vars(shell: Any, names: list[str]) -> dict[str, Any]:
    missing = [n for n in names if n not in shell.user_ns]
    if missing:
        raise UsageError(
            f"variable(s) {', '.join(missing)} not defined after the cell; assign them in the "
            "cell or remove them from --params/--metrics"
        )
    return {n: shell.user_ns[n] for n in names}


def _execute(shell: Any, cell: str) -> Any:
    """Run ``cell`` in the user namespace; return the value of a final expression."""
    source = shell.transform_cell(cell)
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    ns = shell.user_ns
    if tree.body:
        exec(compile(tree, "<mlops run cell>", "exec"), ns)
    if last is not None:
        return eval(compile(ast.Expression(last.value), "<mlops run cell>", "eval"), ns)
    return None
