"""``jupyter mlops env show|export RUN`` and ``env cache``: recorded and rebuilt environments."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ..atomic_files import write_atomic
from ..errors import InvalidInput, NotFound

FORMATS = ("pylock", "requirements")


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "env", help="the environment a run recorded: show or export it; the rebuilt ones' cache"
    )
    env = p.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    show = env.add_parser("show", help="interpreter and distributions of a run")
    show.add_argument("run", metavar="RUN", help="run id or run name (the newest of that name)")
    show.add_argument("--json", action="store_true", help="print the lock as JSON")
    show.set_defaults(func=_show)
    export = env.add_parser("export", help="write a run's lock as pylock.toml or requirements")
    export.add_argument("run", metavar="RUN", help="run id or run name (the newest of that name)")
    export.add_argument("--format", default="pylock", help="pylock (PEP 751) or requirements")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(func=_export)
    cache = env.add_parser(
        "cache", help="environments rebuilt by reproduce --isolated: list them, or remove them"
    )
    cache.add_argument("--clear", action="store_true", help="remove every cached environment")
    cache.add_argument("--json", action="store_true", help="print the list as JSON")
    cache.set_defaults(func=_cache)


def _lock(ref: str) -> Any:
    from ..tracking import api
    from ..tracking.diff.sides import resolve_run
    from ..tracking.reading.environment import read_lock
    from ..tracking.writing.environment_lock import LOCK_ARTIFACT

    client = api.tracker().client
    run, _ = resolve_run(client, ref)
    lock = read_lock(client, run)
    if lock is None:
        raise NotFound(
            f"run {run.info.run_id} has no environment lock ({LOCK_ARTIFACT}): it was recorded "
            "before runs kept one, or its process ended before the run did"
        )
    return lock


def _show(args: argparse.Namespace) -> int:
    lock = _lock(args.run)
    if args.json:
        print(json.dumps(lock.to_dict(), indent=2))
        return 0
    print(f"Python {lock.python} ({lock.implementation}) on {lock.platform}")
    print(
        f"interpreter {lock.executable}; {len(lock.packages)} distributions; digest {lock.digest()}"
    )
    width = max((len(p.name) for p in lock.packages), default=0)
    for package in lock.packages:
        where = package.source.get("url") or package.source.get("path") or ""
        if package.source.get("commit"):
            dirty = " (dirty)" if package.source.get("dirty") else ""
            where += f" @ {package.source['commit'][:12]}{dirty}"
        print(f"  {package.name:<{width}}  {package.version}  {where}".rstrip())
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.format not in FORMATS:
        raise InvalidInput(f"unknown --format {args.format!r}; use one of {', '.join(FORMATS)}")
    lock = _lock(args.run)
    text = lock.to_toml() if args.format == "pylock" else lock.requirements()
    if not args.output:
        print(text, end="")
        return 0
    out = Path(args.output)
    write_atomic(out, text)  # a failed write leaves no half-written file
    print(f"wrote {out} ({len(lock.packages)} distributions, {args.format})")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ..headless.isolation.env_cache import cache_root, clear_cache, list_cached

    if args.clear:
        removed = clear_cache()
        print(f"removed {len(removed)} cached environment(s) from {cache_root()}")
        return 0
    found = list_cached()
    if args.json:
        print(json.dumps([e.to_dict() for e in found], indent=2))
        return 0
    if not found:
        print(f"no cached environments in {cache_root()} (reproduce --isolated builds them)")
        return 0
    rows = [("key", "python", "distributions", "size (own)", "last used")]
    for e in found:
        used = datetime.fromtimestamp(e.last_used).strftime("%Y-%m-%d %H:%M")
        count = f"{e.distributions}" + (f" ({len(e.skipped)} skipped)" if e.skipped else "")
        size = f"{_size(e.size_bytes)} ({_size(e.own_bytes)})"
        rows.append((e.key, e.python, count, size, used))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    total, own = sum(e.size_bytes for e in found), sum(e.own_bytes for e in found)
    print(
        f"{len(found)} environment(s), {_size(total)} in {cache_root()}; --clear frees "
        f"{_size(own)} (the rest are files linked from uv's cache)"
    )
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover
