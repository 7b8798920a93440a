"""``jupyter mlops params | run | reproduce``: headless notebook runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..pipelines.parameters import cli_params


def add_commands(sub: Any) -> None:
    """Register the headless-run commands on ``sub``."""
    p = sub.add_parser("params", help="the parameters cell of a notebook: names, types, defaults")
    p.add_argument("notebook", help="a .ipynb file")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=_params)

    p = sub.add_parser("run", help="execute a notebook headless with papermill, as one MLflow run")
    p.add_argument("notebook", help="a .ipynb file")
    _parameter_options(p)
    p.add_argument("--experiment", help="experiment (default: configured, else notebook name)")
    p.add_argument("--name", help="run name")
    p.add_argument("--output", "-o", help="executed notebook path (default under .mlops/outputs)")
    p.add_argument("--kernel", "-k", help="kernel name instead of the notebook's")
    p.add_argument("--cwd", help="working folder of the kernel (default the notebook's folder)")
    p.add_argument("--timeout", type=float, help="seconds a single cell may run")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)

    p = sub.add_parser("reproduce", help="re-execute a past run as recorded and compare metrics")
    p.add_argument("run_id", help="the run to reproduce")
    p.add_argument("--rtol", type=float, default=1e-7, help="relative tolerance (default 1e-7)")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument("--output", "-o", help="executed notebook path")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=_reproduce)


def _parameter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-p",
        "--parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter; the value is parsed like papermill's -p (numbers, True/False/None)",
    )
    p.add_argument(
        "-r",
        "--parameters-raw",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter kept as a raw string",
    )
    p.add_argument(
        "-y",
        "--parameters-yaml",
        action="append",
        default=[],
        metavar="YAML",
        help="parameters as a YAML mapping, e.g. -y 'lr: 0.1'",
    )
    p.add_argument(
        "-f",
        "--parameters-file",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML file of parameters",
    )


def _params(args: argparse.Namespace) -> int:
    from ..pipelines.api import notebook_params

    found = notebook_params(args.notebook)
    if args.json:
        print(json.dumps([p.to_dict() for p in found], indent=2))
        return 0
    if not found:
        print(f"{Path(args.notebook).name} has no parameters cell (tag a cell 'parameters')")
        return 0
    rows = [("name", "type", "default", "help")]
    rows += [(p.name, p.type, p.default, p.help) for p in found]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _progress(args: argparse.Namespace, label: str) -> Any:
    if args.quiet:
        return None
    from ..pipelines.progress import TerminalProgress

    return TerminalProgress(label)


def _run(args: argparse.Namespace) -> int:
    from ..pipelines.headless import execute_notebook

    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    result = execute_notebook(
        args.notebook,
        params,
        experiment=args.experiment,
        run_name=args.name,
        output_path=args.output,
        kernel_name=args.kernel,
        cwd=args.cwd,
        timeout=args.timeout,
        progress=_progress(args, Path(args.notebook).name),
    )
    if result.ok:
        print(result.message())
        return 0
    print(result.message(), file=sys.stderr)
    return 1


def _reproduce(args: argparse.Namespace) -> int:
    from ..pipelines.api import reproduce

    report = reproduce(
        args.run_id,
        args.rtol,
        args.atol,
        output_path=args.output,
        progress=_progress(args, f"reproduce {args.run_id[:8]}"),
    )
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        print(report.table())
    if not report.result.ok:
        print(report.result.message(), file=sys.stderr)
    return 0 if report.ok else 1


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "original_run_id": report.original_run_id,
        "run_id": report.run_id,
        "status": report.result.status,
        "ok": report.ok,
        "rtol": report.rtol,
        "atol": report.atol,
        "metrics": [
            {"key": c.key, "original": c.original, "reproduced": c.reproduced, "ok": c.ok}
            for c in report.checks
        ],
        "environment": [e.__dict__ for e in report.environment],
    }
