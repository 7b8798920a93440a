"""``jupyter mlops pipeline run | show``: notebook pipelines from pipeline.yaml.

Exit codes: 0 everything ran or was cached, 1 a unit failed or was skipped,
2 the file is invalid (every problem listed, nothing run).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_commands(sub: Any) -> None:
    """Register ``pipeline run`` and ``pipeline show`` on ``sub``."""
    p = sub.add_parser("pipeline", help="DAGs of notebooks with sweeps, cache and parallel runs")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: _missing_action(p))

    r = actions.add_parser("run", help="run pipeline.yaml (cached units are reused)")
    r.add_argument("pipeline", nargs="?", default="pipeline.yaml", help="default pipeline.yaml")
    r.add_argument("--jobs", "-j", type=int, help="units at once (default: number of cores)")
    r.add_argument(
        "--executor",
        default="local",
        help="local (default) or dask://HOST:PORT (an existing Dask distributed scheduler)",
    )
    _selection(r)
    r.add_argument("--resume", action="store_true", help="reuse what finished in the last run")
    r.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    r.set_defaults(func=_run)

    s = actions.add_parser("show", help="the DAG, what is cached and what would run")
    s.add_argument("pipeline", nargs="?", default="pipeline.yaml", help="default pipeline.yaml")
    _selection(s)
    s.add_argument("--json", action="store_true", help="print the plan as JSON")
    s.set_defaults(func=_show)


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--only", action="append", default=[], metavar="STEP", help="only this step (repeatable)"
    )
    p.add_argument("--from", dest="from_step", metavar="STEP", help="this step and downstream")
    p.add_argument("--force", action="store_true", help="ignore the cache for selected steps")


def _missing_action(p: argparse.ArgumentParser) -> int:
    print(f"{p.prog}: give an action: run or show", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    from ..pipelines.api import run_pipeline
    from ..pipelines.display import TerminalPipelineDisplay

    listener = None if args.quiet or args.json else TerminalPipelineDisplay()
    result = run_pipeline(
        args.pipeline,
        jobs=args.jobs,
        executor=args.executor,
        only=args.only,
        from_step=args.from_step,
        force=args.force,
        resume=args.resume,
        listener=listener,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(result.table())
    for unit in result.failures():
        print(f"\n{unit.label} failed:\n{unit.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _show(args: argparse.Namespace) -> int:
    from ..pipelines.api import show_pipeline

    plan = show_pipeline(args.pipeline, only=args.only, from_step=args.from_step, force=args.force)
    print(json.dumps(plan.to_dict(), indent=2, default=str) if args.json else plan.text())
    return 0
