"""``%mlops schedule add|list|pause|resume|remove|run``: schedules from a notebook."""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import argument

from ..errors import InvalidInput
from ..schedules import api
from ..schedules.options import ADD_OPTIONS, add_options
from ._registry import subcommand

_ACTIONS = ("add", "list", "pause", "resume", "remove", "run")
_FORM = (
    "%mlops schedule add NAME FILE --cron EXPR|--on-snapshot NAME | list "
    "| pause|resume|remove|run NAME"
)


def _add_arguments(func: Any) -> Any:
    for flags, options in reversed(ADD_OPTIONS):
        func = argument(*flags, **options)(func)
    return func


@subcommand("schedule", '%mlops schedule add nightly train.ipynb --cron "0 3 * * *" -p lr 0.05')
@argument("action", help="add, list, pause, resume, remove or run")
@argument("name", nargs="?", help="the schedule")
@argument("target", nargs="?", help="NOTEBOOK.ipynb or pipeline.yaml (add)")
@argument("--cron", metavar="EXPR", help='when, e.g. "0 3 * * mon-fri" (add)')
@_add_arguments
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
    if not args.target:
        raise InvalidInput(f"add needs a target file and --cron or an --on-* trigger: {_FORM}")
    added = api.add_schedule(args.name, args.target, args.cron, **add_options(args))
    upcoming = f"; next {api.next_run(added)}" if added.cron else ""
    print(f"schedule {added.name}: {added.target} {added.describe()}{upcoming}")
    return None


def _run(args: Any) -> Any:
    if args.background:
        run_id = api.run_now(args.name)
        print(f"schedule {args.name}: run {run_id} started")
        return run_id
    execution = api.run_schedule(args.name)
    print(execution.message or execution.status)
    return execution
