"""``jupyter mlops gate | serve | models``: the registry from a shell or a CI job.

``gate`` exits 0 when every gate passes (and the alias moved, with ``--promote``),
1 when a gate failed, 2 for usage errors (unknown model, bad expression).
"""

from __future__ import annotations

import argparse
import json
import os
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

    p = sub.add_parser(
        "serve",
        help="serve a model version: MLflow's scoring protocol, Prometheus metrics, drift, alerts",
        description="POST /invocations (MLflow's scoring protocol), GET /metrics (Prometheus), "
        "GET /health. Exit 2 for a bad option before anything is served.",
    )
    p.add_argument("ref", help="NAME@ALIAS, NAME/VERSION or NAME (latest)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument(
        "--monitor", action="store_true", help="drift of live rows against the training snapshot"
    )
    p.add_argument("--window", type=int, default=1000, metavar="N", help="rows watched (1000)")
    p.add_argument(
        "--alert", action="append", default=[], metavar="EXPR", help='"drift_share_drifted > 0.3"'
    )
    p.add_argument("--webhook", metavar="URL", help="POST each alert as JSON to URL")
    p.add_argument("--follow-alias", action="store_true", help="switch when the alias moves")
    p.add_argument("--run-schedule", metavar="NAME", help="run this schedule on each alert")
    p.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="seconds between checks (5)"
    )
    p.add_argument(
        "--log-limit", type=int, default=1_000_000, metavar="N",
        help="rows of the prediction log kept for the model (1000000)",
    )  # fmt: skip
    p.add_argument(
        "--no-log", action="store_true", help="keep no prediction log (and take no feedback)"
    )
    p.add_argument(
        "--feedback-window", type=int, default=1000, metavar="N",
        help="last labelled rows live performance is computed over (1000)",
    )  # fmt: skip
    p.add_argument(
        "--token", default=os.environ.get("MLOPS_SERVE_TOKEN") or None,
        help="require 'Authorization: Bearer TOKEN' on /feedback (default $MLOPS_SERVE_TOKEN)",
    )  # fmt: skip
    p.add_argument(
        "--max-body", type=int, default=32 * 1024 * 1024, metavar="BYTES",
        help="largest request body accepted; larger ones get 413 (33554432)",
    )  # fmt: skip
    p.add_argument("--challenger", metavar="ALIAS|VERSION", help="a version to try on live traffic")
    p.add_argument(
        "--mode", choices=("shadow", "canary"),
        help="shadow: the challenger scores every request unseen; canary: it answers a share",
    )  # fmt: skip
    p.add_argument(
        "--canary-share", type=float, default=0.1, metavar="F",
        help="share of requests the canary answers, hashed on the request id (0.1)",
    )  # fmt: skip
    p.add_argument(
        "--promote-when", metavar="EXPR",
        help='move the alias to the challenger when true, e.g. "challenger.labels >= 500"',
    )  # fmt: skip
    p.add_argument(
        "--rollback-when", metavar="EXPR",
        help='stop the challenger and alert when true: "challenger.error_rate > 0.02"',
    )  # fmt: skip
    p.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="worker processes sharing the port (POSIX); metrics summed, one decision loop "
        "(default: MLOPS_SERVE_WORKERS, else one per core; 1 with --no-log)",
    )  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="check and load, then exit")
    p.set_defaults(func=_serve)

    p = sub.add_parser(
        "predict",
        help="score a CSV/Parquet file or folder, or a snapshot, with a model version",
        description="Streams the input in batches (memory bounded by --batch-size), writes "
        "OUTPUT (.parquet or .csv) with the id column (or row and request_id), prediction, "
        "proba_<class> and model_version, records the call as a run named 'predict MODEL' "
        "and logs every prediction with role 'batch' for jupyter mlops feedback. Exit 2 for "
        "an unknown model, an unreadable input or a column missing or of the wrong type; no "
        "output file is left behind.",
    )
    p.add_argument("ref", help="NAME@ALIAS, NAME/VERSION or NAME (latest)")
    p.add_argument("input", help="a .csv/.parquet file or folder (fsspec URL) or SNAPSHOT@vN")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="scores.parquet|.csv")
    p.add_argument("--id-column", metavar="COL", help="column naming each row (default: row)")
    p.add_argument(
        "--batch-size", type=int, default=100_000, metavar="N", help="rows at a time (100000)"
    )
    p.add_argument("--experiment", metavar="NAME", help="experiment of the run")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.set_defaults(func=_predict)

    p = sub.add_parser(
        "feedback",
        help="record true labels of served predictions from a CSV or Parquet file",
        description="Labels go straight into the prediction log of the store; no server "
        "needed. Late, out-of-order and repeated labels are fine (the last one wins); "
        "ids the log does not hold are counted. Exit 2 for a bad file or column.",
    )
    p.add_argument("name", help="registered model")
    p.add_argument("labels", help="labels.csv or labels.parquet")
    p.add_argument("--id-column", default="request_id", help="column of request ids (request_id)")
    p.add_argument("--label-column", default="label", help="column of labels (label)")
    p.set_defaults(func=_feedback)

    p = sub.add_parser(
        "models",
        help="list registered models, versions, aliases, metrics; `models card REF`: model card",
        description="jupyter mlops models [NAME] [--history] lists; "
        "jupyter mlops models card NAME@ALIAS [-o card.md] [--html] prints or writes the "
        "version's model card, generated from its lineage.",
    )
    p.add_argument("name", nargs="?", help="one model (default: all), or `card`")
    p.add_argument("ref", nargs="?", help="with card: NAME@ALIAS, NAME/VERSION or NAME")
    p.add_argument("--history", action="store_true", help="the promotion audit trail of NAME")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.add_argument("-o", "--output", metavar="FILE", help="with card: write the card to FILE")
    p.add_argument("--html", action="store_true", help="with card: HTML instead of Markdown")
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
    from ..models.serving.server import ServeOptions, prepare, serve

    options = ServeOptions(
        args.ref, port=args.port, host=args.host, monitor=args.monitor, window=args.window,
        alerts=args.alert, webhook=args.webhook, follow_alias=args.follow_alias,
        run_schedule=args.run_schedule, interval=args.interval,
        prediction_log=not args.no_log, log_limit=args.log_limit,
        feedback_window=args.feedback_window, token=args.token, max_body=args.max_body,
        challenger=args.challenger, mode=args.mode, canary_share=args.canary_share,
        promote_when=args.promote_when, rollback_when=args.rollback_when,
        workers=args.workers,
    )  # fmt: skip
    served = prepare(options)
    print(served.banner, flush=True)
    if args.dry_run:
        served.discard()
        return 0
    return serve(served)


def _card(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InvalidInput

    if not args.ref:
        raise InvalidInput("give the version, e.g. jupyter mlops models card churn@production")
    card = api.model_card(args.ref)
    text = card.html if args.html else card.markdown
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write {args.output!r}: {exc.strerror}") from None
        print(f"wrote the card of {card.name} version {card.version} to {args.output}")
    else:
        print(text)
    return 0


def _models(args: argparse.Namespace) -> int:
    if args.name == "card":
        return _card(args)
    if args.ref or args.output or args.html:
        print(
            "jupyter mlops models: REF, -o and --html are for: jupyter mlops models card REF",
            file=sys.stderr,
        )
        return 2
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


def _predict(args: argparse.Namespace) -> int:
    from ..models.batch_scoring import score

    result = score(
        args.ref, args.input, output=args.output, id_column=args.id_column,
        batch_size=args.batch_size, experiment=args.experiment,
    )  # fmt: skip
    print(json.dumps(result.to_dict(), indent=2) if args.json else str(result))
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from ..models.feedback import live_performance, read_labels_file
    from ..models.production_api import feedback

    frame = read_labels_file(args.labels)
    result = feedback(args.name, frame, id_column=args.id_column, label_column=args.label_column)
    print(
        f"{args.name}: {result.received} labels received, {result.stored} ids labelled, "
        f"{result.unknown} unknown ids"
    )
    for perf in live_performance(args.name):
        scores = ", ".join(f"{k} {v:.4g}" for k, v in perf.metrics.items())
        print(f"  version {perf.version} ({perf.role}): {scores} over {perf.labels} labels")
    return 0
