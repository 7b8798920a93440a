"""``jupyter mlops diff A B``: what changed between two runs (or a run and a notebook file)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InvalidInput

SECTIONS_HELP = "code,params,metrics,data,env,outputs (comma-separated; default: all but outputs)"


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "diff",
        help="what changed between two runs: code cell by cell, params, metrics, data, env",
        description="Compare two runs (ids or names), or a run with a notebook file (--against). "
        "For two snapshots use: jupyter mlops data diff train@v1 train@v2",
    )
    p.add_argument("a", metavar="RUN_A", help="run id or run name (the newest of that name)")
    p.add_argument("b", metavar="RUN_B", nargs="?", help="run id or run name")
    p.add_argument("--against", metavar="NOTEBOOK", help="compare RUN_A with this notebook file")
    p.add_argument("--only", metavar="SECTIONS", help=SECTIONS_HELP)
    p.add_argument("--all", action="store_true", help="show everything, not only what differs")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=_diff)


def _diff(args: argparse.Namespace) -> int:
    from ..tracking.diff.api import diff_runs

    if (args.b is None) == (args.against is None):
        raise InvalidInput(
            "give two runs or a run and --against; usage: jupyter mlops diff RUN_A RUN_B "
            "or jupyter mlops diff RUN_A --against notebook.ipynb"
        )
    result = diff_runs(args.a, args.b, against=args.against, only=args.only, everything=args.all)
    print(json.dumps(result.to_dict(), indent=2) if args.json else str(result))
    return 0
