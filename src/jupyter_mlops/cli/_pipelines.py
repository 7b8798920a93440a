"""``jupyter mlops pipeline run | show | export`` and ``jupyter mlops search``.

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
    _add_export(actions)
    _add_search(sub)


def _add_export(actions: Any) -> None:
    from ..pipelines.kfp import DEFAULT_IMAGE, FORMS, KINDS

    e = actions.add_parser("export", help="compile pipeline.yaml for Kubeflow Pipelines v2")
    e.add_argument("pipeline", nargs="?", default="pipeline.yaml", help="default pipeline.yaml")
    e.add_argument("--to", required=True, choices=["kfp"], help="the target: kfp")
    e.add_argument("-o", "--output", help="file to write (default: PIPELINE.kfp.yaml beside it)")
    e.add_argument("--image", default=DEFAULT_IMAGE, help="image of every task (docs/kfp.md)")
    e.add_argument("--tracking-uri", help="the team tracking server the tasks record runs in")
    e.add_argument("--data-uri", help="the snapshot store of the tasks, e.g. s3://bucket/prefix")
    e.add_argument(
        "--form",
        choices=FORMS,
        default="container",
        help="container (a cluster) or lightweight (also what kfp.local runs)",
    )
    e.add_argument("--project-dir", help="the project folder inside the image (default: here)")
    e.add_argument("--check", action="store_true", help="validate only, write nothing")
    e.set_defaults(func=_export)

    t = actions.add_parser("kfp-task", help="one task of an exported pipeline (KFP runs it)")
    t.add_argument("pipeline", help="the pipeline.yaml inside the task's container")
    t.add_argument("--kind", required=True, choices=KINDS, help="what the task does")
    t.add_argument("--step", default="", help="its step")
    t.add_argument("--unit", type=int, default=0, help="its member of the step")
    t.add_argument("--upstream", default="[]", help="JSON list: the upstream tasks' outputs")
    t.add_argument("--job", default="", help="the KFP run's id (start tags the parent with it)")
    t.add_argument("--output", required=True, help="file the task's output is written to")
    t.set_defaults(func=_kfp_task)


def _export(args: argparse.Namespace) -> int:
    from ..pipelines.kfp.export import ExportOptions, export_kfp

    options = ExportOptions(
        args.image, args.form, args.tracking_uri, args.data_uri, args.project_dir
    )
    done = export_kfp(args.pipeline, output=args.output, options=options, check=args.check)
    print(done.summary())
    return 0


def _kfp_task(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InvalidInput
    from ..pipelines.kfp.tasks import run_task

    try:
        upstream = json.loads(args.upstream)
    except ValueError:
        upstream = None
    if not isinstance(upstream, list) or not all(isinstance(u, str) for u in upstream):
        raise InvalidInput("--upstream must be a JSON list of the upstream tasks' outputs")
    state = run_task(
        args.pipeline, args.kind, upstream, step=args.step or None, unit=args.unit, job=args.job
    )
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(state, encoding="utf-8")
    return 0


def _add_search(sub: Any) -> None:
    from ..headless.parameters import PARAMETER_OPTIONS

    p = sub.add_parser("search", help="search a notebook's parameters with an Optuna study")
    p.add_argument("notebook", help="the .ipynb whose parameters are searched")
    for flags, options in PARAMETER_OPTIONS:
        p.add_argument(*flags, **options)
    p.add_argument("--method", default="tpe", help="random, tpe (default), cmaes or qmc")
    p.add_argument("--trials", type=int, help="how many trials the study holds (required)")
    p.add_argument("--metric", help="metric the notebook logs, to optimize (required)")
    p.add_argument("--direction", help="maximize (default) or minimize")
    p.add_argument("--pruner", help="none (default), median, successive_halving or hyperband")
    p.add_argument("--seed", type=int, help="seed of the sampler (reproducible trials)")
    p.add_argument("--jobs", "-j", type=int, help="trials at once (default: number of cores)")
    p.add_argument("--executor", default="local", help="local or dask://HOST:PORT")
    p.add_argument("--experiment", help="experiment (default: configured, else the notebook's)")
    p.add_argument("--force", action="store_true", help="start the study over")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    p.set_defaults(func=_search)


def _search(args: argparse.Namespace) -> int:
    from ..headless.parameters import cli_params
    from ..pipelines.display import TerminalPipelineDisplay
    from ..pipelines.search.api import search
    from ..pipelines.search.config import SWEEP_KEYS

    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    sweep = {k: getattr(args, k) for k in SWEEP_KEYS if getattr(args, k) is not None}
    result = search(
        args.notebook,
        params,
        sweep,
        jobs=args.jobs,
        executor=args.executor,
        experiment=args.experiment,
        force=args.force,
        listener=None if args.quiet or args.json else TerminalPipelineDisplay(),
    )
    if args.json:
        doc = {**result.pipeline.to_dict(), "best": result.best.__dict__ if result.best else None}
        print(json.dumps(doc, indent=2, default=str))
    else:
        print(result.table())
    for unit in result.pipeline.failures():
        print(f"\n{unit.label} failed:\n{unit.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--only", action="append", default=[], metavar="STEP", help="only this step (repeatable)"
    )
    p.add_argument("--from", dest="from_step", metavar="STEP", help="this step and downstream")
    p.add_argument("--force", action="store_true", help="ignore the cache for selected steps")


def _missing_action(p: argparse.ArgumentParser) -> int:
    print(f"{p.prog}: give an action: run, show or export", file=sys.stderr)
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
