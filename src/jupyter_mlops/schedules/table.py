"""Schedules as a plain-text table (the CLI, the magic and ``mlops.schedules.list()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["schedules_table"]

_COLUMNS = ("name", "target", "when", "paused", "next run", "last run")


def _row(s: dict[str, Any]) -> tuple[str, ...]:
    last = f"{s['last_run_id']} {s['last_status']}" if s.get("last_run_id") else "-"
    return (
        s["name"],
        s["target"],
        "; ".join(
            [*([f"{s['cron']}  ({s['cron_text']})"] if s["cron"] else []), *s["trigger_text"]]
        ),
        "yes" if s["paused"] else "no",
        s.get("next_run") or "-",
        last,
    )


def schedules_table(schedules: Sequence[dict[str, Any]]) -> str:
    """One line per schedule, columns aligned."""
    rows = [_COLUMNS, *(_row(s) for s in schedules)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
