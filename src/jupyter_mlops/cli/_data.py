"""``jupyter mlops data ls | show | diff | drift | validate | schema | verify | gc``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..data import api
from ..errors import InvalidInput


def add_commands(sub: Any) -> None:
    """Register ``data`` and its subcommands on ``sub``."""
    data = sub.add_parser("data", help="data snapshots: list, inspect, compare, check the store")
    data.add_argument("--store", help="snapshot store URL (default MLOPS_DATA_URI or .mlops/data)")
    cmds = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser("ls", help="snapshots (latest of each), or the versions of NAME")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=_ls)

    p = cmds.add_parser("show", help="one snapshot's manifest: digest, schema, profile")
    p.add_argument("ref", help="name, name@v3 or name@<digest prefix>")
    p.set_defaults(func=_show)

    p = cmds.add_parser("diff", help="schema, rows and statistics between two snapshots")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--key", action="append", help="row key column (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_diff)

    p = cmds.add_parser("drift", help="per-column drift of CURRENT against REFERENCE")
    p.add_argument("reference")
    p.add_argument("current")
    p.add_argument("--threshold", type=float, default=0.05, help="p-value threshold")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--html", metavar="FILE", help="also write the HTML report here")
    p.set_defaults(func=_drift)

    p = cmds.add_parser(
        "validate", help="check DATA against a snapshot's rules; exit 1 on anomalies"
    )
    p.add_argument("data", help="snapshot ref, or a .csv / .parquet file")
    p.add_argument("--against", required=True, metavar="REF", help="reference snapshot ref")
    p.add_argument(
        "--margin",
        type=float,
        help="widen the reference's ranges by this share when inferring (default 0.1)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--html", metavar="FILE", help="also write the HTML report here")
    p.set_defaults(func=_validate)

    p = cmds.add_parser("schema", help="infer a snapshot's validation rules and save them")
    p.add_argument("ref", help="name, name@v3 or name@<digest prefix>")
    p.add_argument("--margin", type=float, default=0.1, help="range widening (default 0.1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_schema)

    p = cmds.add_parser("verify", help="re-hash every stored blob; exit 1 on corruption")
    p.set_defaults(func=_verify)

    p = cmds.add_parser("gc", help="delete blobs no snapshot references")
    p.add_argument("--dry-run", action="store_true", help="only report what would go")
    p.add_argument(
        "--grace",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="keep files younger than this (a snapshot may be writing them; default 3600)",
    )
    p.set_defaults(func=_gc)


def _ls(args: argparse.Namespace) -> int:
    frame = api.snapshots(args.name, store=args.store)
    if args.json:
        print(frame.to_json(orient="records"))
    elif frame.empty:
        print("no snapshots")
    else:
        print(frame.to_string(index=False))
    return 0


def _show(args: argparse.Namespace) -> int:
    print(json.dumps(api.info(args.ref, store=args.store), indent=2, default=str))
    return 0


def _diff(args: argparse.Namespace) -> int:
    report = api.diff(args.a, args.b, key=args.key, store=args.store)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0


def _drift(args: argparse.Namespace) -> int:
    report = api.drift(
        args.reference, args.current, threshold=args.threshold, log=False, store=args.store
    )
    if args.html:
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(report.to_html())
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ..data.validation.api import validate

    report = validate(
        _data_argument(args.data), args.against, margin=args.margin, log=False, store=args.store
    )
    if args.html:
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(report.to_html())
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.passed else 1


def _data_argument(text: str) -> Any:
    """A .csv / .parquet file read into a frame; anything else is a snapshot ref."""
    import os

    lower = text.lower()
    if not lower.endswith((".csv", ".parquet", ".pq")):
        return text
    if not os.path.isfile(text):
        raise InvalidInput(f"no file {text!r}; give a .csv or .parquet file or a snapshot ref")
    import pandas as pd

    try:
        return pd.read_csv(text) if lower.endswith(".csv") else pd.read_parquet(text)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"cannot read {text!r}: {first}") from None


def _schema(args: argparse.Namespace) -> int:
    from ..data.validation.api import infer_schema

    schema = infer_schema(args.ref, margin=args.margin, store=args.store)
    print(schema.to_json() if args.json else f"saved beside {schema.source}\n{schema}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..data.maintenance import verify_store

    report = verify_store(api.open_store(args.store))
    for line in report.bad_manifests + report.corrupt + report.missing:
        print(line)
    if report.leftovers:
        count = len(report.leftovers)
        print(f"{count} unfinished temporary file(s) (jupyter mlops data gc removes them)")
    state = "OK" if report.ok else "CORRUPT"
    print(
        f"{state}: {report.blobs_checked} blobs re-hashed, {report.manifests_checked} manifests, "
        f"{len(report.corrupt)} corrupt, {len(report.missing)} missing"
    )
    return 0 if report.ok else 1


def _gc(args: argparse.Namespace) -> int:
    from ..data.maintenance import collect_garbage

    report = collect_garbage(
        api.open_store(args.store), grace_seconds=args.grace, dry_run=args.dry_run
    )
    verb = "would remove" if args.dry_run else "removed"
    freed = api.format_bytes(report.bytes_freed)
    print(
        f"{verb} {len(report.removed)} unreferenced blob(s), {freed}; "
        f"{report.referenced} referenced kept, {report.kept_recent} recent kept"
    )
    return 0
