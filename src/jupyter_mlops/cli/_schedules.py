"""``jupyter mlops schedule add|list|pause|resume|remove|run`` and ``jupyter mlops scheduler``.

Exit codes: 0 success, 1 an execution failed (``run``), 2 a usage error (bad cron
field, unknown parameter, unknown schedule).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from typing import Any

_ACTIONS = ("add", "list", "pause", "resume", "remove", "run")


def add_commands(sub: Any) -> None:
    """Register ``schedule`` and ``scheduler`` on ``sub``."""
    p = sub.add_parser("schedule", help="notebooks and pipelines on cron schedules and events")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: _missing_action(p))
    _add_parser(actions)
    ls = actions.add_parser("list", help="every schedule, its next run and last run")
    ls.add_argument("--json", action="store_true", help="print JSON records")
    ls.set_defaults(func=_list)
    for action, text in (
        ("pause", "stop running a schedule until resumed"),
        ("resume", "run a paused schedule again from its next tick"),
        ("remove", "delete a schedule (its runs stay)"),
        ("run", "execute a schedule once, now, in the foreground"),
    ):
        a = actions.add_parser(action, help=text)
        a.add_argument("name", help="the schedule")
        a.set_defaults(func=_run if action == "run" else _change)

    d = sub.add_parser("scheduler", help="run due schedules until Ctrl-C or SIGTERM")
    d.add_argument(
        "--poll",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how often to look for new, paused or removed schedules (default 10)",
    )
    d.set_defaults(func=_scheduler)


def _add_parser(actions: Any) -> None:
    from ..schedules.options import ADD_OPTIONS

    a = actions.add_parser("add", help="add a schedule for a notebook or pipeline.yaml")
    a.add_argument("name", help="schedule name: letters, digits, _ . -")
    a.add_argument("target", help="NOTEBOOK.ipynb or pipeline.yaml")
    a.add_argument(
        "--cron",
        metavar="EXPR",
        help='e.g. "0 3 * * mon-fri" (optional when an --on-* trigger is given)',
    )
    for flags, options in ADD_OPTIONS:
        a.add_argument(*flags, **options)
    a.set_defaults(func=_add)


def _missing_action(p: argparse.ArgumentParser) -> int:
    print(f"{p.prog}: give an action: {', '.join(_ACTIONS)}", file=sys.stderr)
    return 2


def _add(args: argparse.Namespace) -> int:
    from ..schedules.api import add_schedule, next_run
    from ..schedules.options import add_options

    schedule = add_schedule(args.name, args.target, args.cron, **add_options(args))
    upcoming = f"; next run {next_run(schedule)}" if schedule.cron else ""
    print(f"schedule {schedule.name}: {schedule.target} {schedule.describe()}{upcoming}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..schedules.api import list_schedules
    from ..schedules.table import schedules_table

    found = list_schedules()
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    elif not found:
        print(
            "no schedules yet; add one with: jupyter mlops schedule add NAME FILE "
            "--cron EXPR (or --on-snapshot NAME)"
        )
    else:
        print(schedules_table(found))
    return 0


def _change(args: argparse.Namespace) -> int:
    from ..schedules import api

    change = {
        "pause": api.pause_schedule,
        "resume": api.resume_schedule,
        "remove": api.remove_schedule,
    }[args.action]
    schedule = change(args.name)
    print(f"schedule {schedule.name} {args.action}d")
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..schedules.api import run_schedule

    execution = run_schedule(args.name)
    print(execution.message or execution.status, file=sys.stdout if execution.ok else sys.stderr)
    return 0 if execution.ok else 1


def _scheduler(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..schedules.notify import notifier
    from ..schedules.scheduler import Scheduler

    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO, stream=sys.stderr)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    scheduler = Scheduler(load_settings(), poll_s=args.poll)

    def _stop(signum: int, frame: Any) -> None:
        scheduler.stop(cancel=False, timeout=0)

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.run_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    cancelled = scheduler.stop(cancel=True)
    if cancelled:
        print(f"cancelled {len(cancelled)} running execution(s)", file=sys.stderr)
    notifier().flush(timeout=10.0)
    return 0
