"""The scheduler's notion of "now".

Always the wall clock for users. The test suite may set ``_MLOPS_TEST_CLOCK`` to
``START@ANCHOR*SPEED`` (an ISO 8601 start, the Unix time at which the clock read
``START``, and how many clock seconds pass per real second, 0 for a stopped clock) so that processes
sharing that environment agree on a fast or shifted clock; it is not a user option.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

__all__ = ["TEST_CLOCK_ENV", "now", "real_seconds", "test_clock_value"]

TEST_CLOCK_ENV = "_MLOPS_TEST_CLOCK"


def _parsed() -> tuple[float, float, float] | None:
    raw = os.environ.get(TEST_CLOCK_ENV)
    if not raw:
        return None
    start, _, rest = raw.partition("@")
    anchor, _, speed = rest.partition("*")
    return datetime.fromisoformat(start).timestamp(), float(anchor), float(speed or 1)


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    clock = _parsed()
    if clock is None:
        return datetime.now(timezone.utc)
    start, anchor, speed = clock
    return datetime.fromtimestamp(start + (time.time() - anchor) * speed, timezone.utc)


def real_seconds(clock_seconds: float) -> float:
    """How many real seconds ``clock_seconds`` of the scheduler's clock last."""
    clock = _parsed()
    return clock_seconds / clock[2] if clock and clock[2] > 0 else clock_seconds


def test_clock_value(start: datetime, speed: float = 1.0) -> str:
    """The ``_MLOPS_TEST_CLOCK`` value of a clock reading ``start`` now, running ``speed`` x."""
    return f"{start.isoformat()}@{time.time()!r}*{speed!r}"
