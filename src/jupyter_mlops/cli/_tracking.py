"""``jupyter mlops status | runs | experiments``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..tracking import api


def add_commands(sub: Any) -> None:
    """Register the tracking commands on ``sub``."""
    p = sub.add_parser("status", help="where values go: store, root, experiment")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_status)

    p = sub.add_parser("sync", help="replay values journaled while the store was unreachable")
    p.set_defaults(func=_sync)

    p = sub.add_parser("runs", help="list runs (MLflow filter syntax)")
    p.add_argument("--experiment", action="append", help="experiment name (repeatable)")
    p.add_argument("--filter", default="", help='e.g. "metrics.acc > 0.8"')
    p.add_argument("--order-by", action="append", help='e.g. "metrics.acc DESC"')
    p.add_argument("--max", type=int, default=100, help="most rows (default 100)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=_runs)


def _status(args: argparse.Namespace) -> int:
    info = api.status()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key, value in info.items():
        if key != "sources":
            print(f"{key:<13} {value if value is not None else '(none)'}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    result = api.sync()
    print(result.summary())
    return 1 if result.remaining or result.rejected else 0


def _runs(args: argparse.Namespace) -> int:
    frame = api.runs(args.experiment, args.filter, args.order_by, args.max)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso"))
    elif frame.empty:
        print(_no_runs(args))
    else:
        print(frame.to_string(index=False, max_colwidth=40))
    return 0


def _no_runs(args: argparse.Namespace) -> str:
    """Say which experiment was empty and, when it was the default one, name the others."""
    if args.experiment or args.filter:
        return "no runs"
    from ..tracking.mlflow_bridge.store import sqlite_path
    from ..tracking.reading.browse import experiments

    tracker = api.tracker()
    name = tracker.experiment_name
    db = sqlite_path(tracker.settings.tracking_uri)
    if db is not None and not db.exists():
        return "no runs: nothing was logged in this project yet"
    others = [e["name"] for e in experiments(tracker.client) if e["name"] != name]
    if not others:
        return f"no runs in experiment {name!r} (the default here)"
    shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    return (
        f"no runs in experiment {name!r} (the default here); "
        f"pass --experiment NAME, e.g. one of: {shown}"
    )
