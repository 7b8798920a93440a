"""``jupyter mlops data ls | show | diff | drift | verify | gc``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..data import api


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
