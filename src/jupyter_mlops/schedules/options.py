"""The options of ``schedule add``, shared by ``jupyter mlops schedule add`` and the magic."""

from __future__ import annotations

from typing import Any

from ..headless.parameters import PARAMETER_OPTIONS, cli_params
from .spec import DEFAULT_GRACE_S, OVERLAP

__all__ = ["ADD_OPTIONS", "add_options"]

#: ``(flags, argparse keyword arguments)`` of ``add`` besides NAME, FILE and --cron
ADD_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--timezone",), {"metavar": "TZ", "help": "IANA timezone of the cron (default UTC)"}),
    *PARAMETER_OPTIONS,
    (("--experiment",), {"help": "experiment of the runs (default as for run)"}),
    (
        ("--on-failure",),
        {"action": "append", "default": [], "metavar": "URL",
         "help": "POST a JSON notification here when an execution fails (repeatable)"},
    ),
    (
        ("--on-success",),
        {"action": "append", "default": [], "metavar": "URL",
         "help": "POST a JSON notification here when an execution finishes (repeatable)"},
    ),
    (
        ("--overlap",),
        {"choices": OVERLAP, "default": "skip",
         "help": "a tick while the previous execution runs: skip (default) or queue"},
    ),
    (
        ("--on-snapshot",),
        {"action": "append", "default": [], "metavar": "SNAPSHOT",
         "help": "also run at each new version of this snapshot (repeatable)"},
    ),
    (
        ("--on-promotion",),
        {"action": "append", "default": [], "metavar": "MODEL@ALIAS",
         "help": "also run each time this alias of the model moves (repeatable)"},
    ),
    (
        ("--on-alert",),
        {"action": "append", "default": [], "metavar": "MODEL",
         "help": "also run at each alert episode of the served model (repeatable)"},
    ),
    (
        ("--grace",),
        {"type": float, "default": DEFAULT_GRACE_S, "metavar": "SECONDS",
         "help": "a tick missed while no scheduler ran still runs this late (default 3600)"},
    ),
)  # fmt: skip


def add_options(args: Any) -> dict[str, Any]:
    """The keyword arguments of ``add_schedule`` from parsed :data:`ADD_OPTIONS`."""
    return {
        "timezone": args.timezone,
        "params": cli_params(
            args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
        ),
        "experiment": args.experiment,
        "on_failure": args.on_failure,
        "on_success": args.on_success,
        "overlap": args.overlap,
        "grace_s": args.grace,
        "on_snapshot": args.on_snapshot,
        "on_promotion": args.on_promotion,
        "on_alert": args.on_alert,
    }
