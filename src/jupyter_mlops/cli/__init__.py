"""``jupyter mlops ...`` / ``jupyter-mlops ...`` command line.

Exit codes: 0 success, 1 failure (including a gate or run that failed), 2 usage error.
Feature modules add their commands through ``add_commands(subparsers)``.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from .._version import __version__
from ..errors import MlopsError

__all__ = ["build_parser", "main"]

#: modules defining ``add_commands(subparsers)``; optional ones may be absent
_FEATURES = (
    "_tracking",
    "_data",
    "_models",
    "_runs",
    "_diff",
    "_environment",
    "_pipelines",
    "_schedules",
)
#: commands parsed by their own module alone: importing every feature (NumPy, pandas and
#: pyarrow among them) would be most of their start-up time
_FAST_COMMANDS = {
    "run": "_runs",
    "worker": "_runs",
    "runs": "_tracking",
    "status": "_tracking",
    "pipeline": "_pipelines",
    "diff": "_diff",
    "env": "_environment",
    "predict": "_models",
    "serve": "_models",
    "feedback": "_models",
    "gate": "_models",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        self.exit(2, f"{self.prog}: error: {message}; usage: {usage}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the full parser (also used to generate the CLI reference)."""
    return _parser(_FEATURES)


def _parser(features: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jupyter mlops",
        description="Notebook-native MLOps on MLflow.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-mlops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in features:
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.add_commands(sub)
    return parser


def _skip_slow_optional_imports() -> None:
    """Keep optional extras we never use from costing seconds at start-up.

    ``import nbformat`` (hence papermill) spends ~2 s importing ``rfc3987_syntax``,
    which jsonschema loads only to check the ``iri`` string format; notebook
    schemas do not use it, and jsonschema skips the check when the import fails.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


#: collector thresholds while a command runs (Python's are 700, 10, 10): a command imports
#: MLflow, pandas and more, hundreds of thousands of objects, and each full collection along
#: the way walks all of them (about 0.3 s of a batch scoring's start); cyclic garbage is still
#: collected, after 10,000 allocations instead of 700
_COLLECT_AFTER = (10_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    before = gc.get_threshold()
    gc.set_threshold(*_COLLECT_AFTER)
    try:
        return _main(argv)
    finally:
        gc.set_threshold(*before)


def _main(argv: Sequence[str] | None) -> int:
    _skip_slow_optional_imports()
    argv = list(sys.argv[1:] if argv is None else argv)
    fast = _FAST_COMMANDS.get(argv[0]) if argv else None
    parser = _parser((fast,)) if fast else build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except MlopsError as exc:
        print(f"jupyter mlops {args.command}: {exc}", file=sys.stderr)
        return 2 if exc.is_usage else 1
    except KeyboardInterrupt:
        print(f"jupyter mlops {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
