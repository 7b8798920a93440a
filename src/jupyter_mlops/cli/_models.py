"""``jupyter mlops gate | serve | models``: the registry from a shell or a CI job.

``gate`` exits 0 when every gate passes (and the alias moved, with ``--promote``),
1 when a gate failed, 2 for usage errors (unknown model, bad expression).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..models import api


def add_commands(sub: Any) -> None:
    """Register the model commands on ``sub``."""
    p = sub.add_parser(
        "gate",
        help="check a model version against gates (CI); optionally promote it",
        description="Exit 0 all gates pass, 1 a gate failed, 2 usage error.",
    )
    p.add_argument("ref", help="NAME@ALIAS, NAME/VERSION or NAME (latest)")
    p.add_argument("--require", action="append", default=[], metavar="EXPR", help='"acc>=0.9"')
    p.add_argument("--beat", metavar="ALIAS", help="must beat the version holding ALIAS")
    p.add_argument("--on", metavar="METRIC", help="metric compared by --beat")
    p.add_argument("--lower-is-better", action="store_true", help="for --on metrics like loss")
    p.add_argument("--promote", metavar="ALIAS", help="move ALIAS to the version if all pass")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.set_defaults(func=_gate)

    p = sub.add_parser("serve", help="serve a model version with MLflow's scoring server")
    p.add_argument("ref", help="NAME@ALIAS, NAME/VERSION or NAME (latest)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--workers", type=int, default=1, help="server workers (default 1)")
    p.add_argument("--dry-run", action="store_true", help="print the server command only")
    p.set_defaults(func=_serve)

    p = sub.add_parser("models", help="list registered models, versions, aliases, metrics")
    p.add_argument("name", nargs="?", help="one model (default: all)")
    p.add_argument("--history", action="store_true", help="the promotion audit trail of NAME")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=_models)


def _gate(args: argparse.Namespace) -> int:
    report = api.gate(
        args.ref,
        require=args.require,
        beat=args.beat,
        on=args.on,
        lower_is_better=args.lower_is_better,
        promote=args.promote,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
        if report.promoted_to:
            print(f"{report.promoted_to} -> {report.model} version {report.version}")
    if not report.passed:
        if not args.json:
            print(f"jupyter mlops gate: failed: {report.failure_text()}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..models.serve import plan, run

    p = plan(args.ref, port=args.port, host=args.host, workers=args.workers)
    print(f"serving {p.name} version {p.version} at {p.url}", flush=True)
    if args.dry_run:
        print(" ".join(p.argv))
        return 0
    return run(p)


def _models(args: argparse.Namespace) -> int:
    if args.history:
        if not args.name:
            print("jupyter mlops models: --history needs a model NAME", file=sys.stderr)
            return 2
        frame = api.history(args.name)
    else:
        frame = api.models(args.name)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso"))
    elif frame.empty:
        print("no promotions recorded" if args.history else "no registered models")
    else:
        print(frame.to_string(index=False, max_colwidth=60))
    return 0
