"""``%mlops schedule add|list|pause|resume|remove|run``: schedules from a notebook."""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import argument

from ..errors import InvalidInput
from ..headless.parameters import PARAMETER_OPTIONS, cli_params
from ..schedules import api
from ._registry import subcommand

_ACTIONS = ("add", "list", "pause", "resume", "remove", "run")
_FORM = "%mlops schedule add NAME FILE --cron EXPR | list | pause|resume|remove|run NAME"


def _parameter_arguments(func: Any) -> Any:
    for flags, options in reversed(PARAMETER_OPTIONS):
        func = argument(*flags, **options)(func)
    return func


@subcommand("schedule", '%mlops schedule add nightly train.ipynb --cron "0 3 * * *" -p lr 0.05')
@argument("action", help="add, list, pause, resume, remove or run")
@argument("name", nargs="?", help="the schedule")
@argument("target", nargs="?", help="NOTEBOOK.ipynb or pipeline.yaml (add)")
@argument("--cron", metavar="EXPR", help='when, e.g. "0 3 * * mon-fri" (add)')
@argument("--timezone", metavar="TZ", help="IANA timezone of the cron (default UTC)")
@_parameter_arguments
@argument("--experiment", help="experiment of the runs")
@argument("--on-failure", action="append", default=[], metavar="URL", help="POST on failure")
@argument("--on-success", action="append", default=[], metavar="URL", help="POST on success")
@argument("--overlap", default="skip", help="skip (default) or queue a tick while one runs")
@argument("--grace", type=float, default=3600.0, help="seconds a missed tick may still start")
@argument("--background", action="store_true", help="run: start it and return the run id")
def schedule(shell: Any, args: Any) -> Any:
    """Add, list, pause, resume, remove or run a schedule of a notebook or pipeline."""
    if args.action not in _ACTIONS:
        raise InvalidInput(f"unknown action {args.action!r}; use {_FORM}")
    if args.action == "list":
        from ..schedules.table import schedules_table

        found = api.list_schedules()
        print(schedules_table(found) if found else "no schedules yet; add one with " + _FORM)
        return None
    if not args.name:
        raise InvalidInput(f"give the schedule's name: {_FORM}")
    if args.action == "add":
        return _add(args)
    if args.action == "run":
        return _run(args)
    change = {"pause": api.pause_schedule, "resume": api.resume_schedule}
    changed = change.get(args.action, api.remove_schedule)(args.name)
    print(f"schedule {changed.name} {args.action}d")
    return None


def _add(args: Any) -> Any:
    if not args.target or not args.cron:
        raise InvalidInput(f"add needs a target file and --cron: {_FORM}")
    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    added = api.add_schedule(
        args.name,
        args.target,
        args.cron,
        timezone=args.timezone,
        params=params,
        experiment=args.experiment,
        on_failure=args.on_failure,
        on_success=args.on_success,
        overlap=args.overlap,
        grace_s=args.grace,
    )
    print(f"schedule {added.name}: {added.target} {added.describe()}; next {api.next_run(added)}")
    return None


def _run(args: Any) -> Any:
    if args.background:
        run_id = api.run_now(args.name)
        print(f"schedule {args.name}: run {run_id} started")
        return run_id
    execution = api.run_schedule(args.name)
    print(execution.message or execution.status)
    return execution
