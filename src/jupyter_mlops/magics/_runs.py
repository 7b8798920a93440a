"""``%mlops run_notebook | reproduce | notebook_params``: headless runs from a notebook."""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import argument

from ..errors import InvalidInput
from ..headless import api
from ..headless.parameters import PARAMETER_OPTIONS, cli_params
from ._registry import subcommand


def _parameter_arguments(func: Any) -> Any:
    """Add the papermill-style parameter options (same as ``jupyter mlops run``)."""
    for flags, options in reversed(PARAMETER_OPTIONS):
        func = argument(*flags, **options)(func)
    return func


@subcommand("run_notebook", "%mlops run_notebook train.ipynb -p lr 0.05 --experiment churn")
@argument("notebook", help="the .ipynb to execute in a fresh kernel")
@_parameter_arguments
@argument("--experiment", help="experiment (default: configured, else the notebook's name)")
@argument("--name", help="run name")
@argument("--output", help="executed notebook path (default under .mlops/outputs)")
@argument("--kernel", help="kernel name instead of the notebook's")
@argument("--wait", action="store_true", help="block until done instead of running in background")
def run_notebook(shell: Any, args: Any) -> Any:
    """Execute a notebook headless as one run; returns a handle (.wait(), .status, .cancel())."""
    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    handle = api.run_notebook(
        args.notebook,
        params,
        background=not args.wait,
        experiment=args.experiment,
        run_name=args.name,
        output_path=args.output,
        kernel_name=args.kernel,
    )
    if args.wait:
        print(handle.message())  # type: ignore[union-attr]
    return handle


@subcommand("reproduce", "%mlops reproduce 7c1e2a4b... --rtol 1e-6 --isolated")
@argument("run_id", help="the run to re-execute as recorded (a pipeline run: each unit run)")
@argument("--rtol", type=float, default=1e-7, help="relative tolerance (default 1e-7)")
@argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
@argument(
    "--isolated", action="store_true", help="in the run's recorded environment, rebuilt by uv"
)
@argument(
    "--allow-missing",
    action="store_true",
    help="with --isolated: skip distributions that cannot be installed",
)
@argument(
    "--find-links",
    action="append",
    default=[],
    metavar="DIR",
    help="with --isolated: a folder of wheels to install from (repeatable)",
)
def reproduce(shell: Any, args: Any) -> None:
    """Re-execute a past run in a fresh kernel and print metrics original vs reproduced."""
    if not args.isolated and (args.allow_missing or args.find_links):
        raise InvalidInput("--allow-missing and --find-links apply with --isolated; add it")
    from ..pipelines.reproduce import is_pipeline_run, reproduce_pipeline_run
    from ..tracking.api import tracker

    settings = tracker().settings
    if is_pipeline_run(args.run_id, settings):
        whole = reproduce_pipeline_run(
            args.run_id,
            rtol=args.rtol,
            atol=args.atol,
            isolated=args.isolated,
            allow_missing=args.allow_missing,
            find_links=args.find_links,
            settings=settings,
        )
        print(whole.table())
        return
    report = api.reproduce(
        args.run_id,
        args.rtol,
        args.atol,
        isolated=args.isolated,
        allow_missing=args.allow_missing,
        find_links=args.find_links,
    )
    print(report.table())
    if not report.result.ok:
        print(report.result.message())


@subcommand("notebook_params", "%mlops notebook_params train.ipynb")
@argument("notebook", help="a .ipynb file")
def notebook_params(shell: Any, args: Any) -> None:
    """Show the parameters cell of a notebook: names, types, defaults."""
    found = api.notebook_params(args.notebook)
    if not found:
        print(f"{args.notebook}: no parameters found (tag the cell of defaults 'parameters')")
    for p in found:
        comment = f"  # {p.help}" if p.help else ""
        print(f"{p.name}: {p.type} = {p.default}{comment}")
