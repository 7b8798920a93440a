"""What the scheduler takes units from: a resolved step's units, or a study asking for trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .executors import Executor, UnitOutcome, UnitTask
    from .units import Unit

__all__ = ["Feed"]


class Feed:
    """The units of a resolved step still to run; a searched step asks its study instead."""

    def __init__(self, items: list[tuple[Unit, UnitTask]]) -> None:
        self._items = items

    @property
    def has_more(self) -> bool:
        """Whether a unit is waiting for a slot."""
        return bool(self._items)

    def next_task(self) -> tuple[Unit, UnitTask] | None:
        """The next unit to start, if any."""
        return self._items.pop(0) if self._items else None

    def watch(self, executor: Executor) -> None:
        """Look at the running units (a study prunes here)."""

    def settle(
        self, unit: Unit, outcome: UnitOutcome, status: str, message: str
    ) -> tuple[str, str]:
        """The final state of a unit that came back."""
        return status, message
