"""Subcommands of ``%mlops``: each a parser built with IPython's magic_arguments and a function.

A feature module declares its subcommands with :func:`subcommand`; the magic
dispatches on the first word. Adding a subcommand never touches the dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.magic_arguments import magic_arguments

__all__ = ["SUBCOMMANDS", "Subcommand", "subcommand"]


@dataclass(frozen=True)
class Subcommand:
    """One ``%mlops NAME ...`` form."""

    name: str
    func: Callable[..., Any]
    example: str
    cell: bool  # True: only as %%mlops NAME (takes the cell body)
    summary: str

    @property
    def parser(self) -> Any:
        """The ``MagicArgumentParser`` built from the function's decorators."""
        return self.func.parser  # type: ignore[attr-defined]

    @property
    def usage(self) -> str:
        """One-line usage, e.g. ``%mlops experiment NAME``."""
        text = " ".join(self.parser.format_usage().split())
        return text.removeprefix("::").strip()


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str, example: str, *, cell: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as ``%mlops NAME`` (or ``%%mlops NAME`` if ``cell``).

    The function receives ``(shell, args)`` or ``(shell, args, cell_body)`` and
    its ``@argument`` decorators (applied below this one) define the parser.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        # IPython's help formatter prefixes one "%" itself.
        prog = f"%mlops {name}" if cell else f"mlops {name}"
        summary = (func.__doc__ or "").strip().split("\n")[0]
        func = magic_arguments(name=prog)(func)
        SUBCOMMANDS[name] = Subcommand(name, func, example, cell, summary)
        return func

    return register
