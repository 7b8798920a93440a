"""The ``%mlops`` line magic and ``%%mlops`` cell magic.

Each subcommand is a thin parser over a public function; see ``%mlops help``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import threading
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.utils.process import arg_split

from .. import warm_imports
from ..errors import MlopsError
from ..tracking.writing.run_stack import RUN_ID_ENV
from ._registry import SUBCOMMANDS

__all__ = ["MlopsMagics", "help_text", "load", "unload"]

#: feature modules whose import registers subcommands; a missing optional one is skipped
_FEATURES = (
    "_tracking",
    "_data",
    "_diff",
    "_models",
    "_runs",
    "_pipelines",
    "_schedules",
    "_panel",
)
_features_loaded = False


def _load_features() -> None:
    """Import every feature module once (the warm-up thread does it right after loading)."""
    global _features_loaded
    if _features_loaded:
        return
    with warm_imports.importing():
        if _features_loaded:
            return
        for name in _FEATURES:
            try:
                warm_imports.load(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
        MlopsMagics.mlops.__doc__ = help_text()
        _features_loaded = True


def help_text() -> str:
    """Every subcommand with its usage and one example."""
    lines = ["%mlops SUBCOMMAND ...   (%mlops help, or %mlops SUBCOMMAND --help)", ""]
    for sub in sorted(SUBCOMMANDS.values(), key=lambda s: s.name):
        lines.append(f"  {sub.usage}")
        lines.append(f"      {sub.summary}")
        lines.append(f"      e.g. {sub.example}")
    return "\n".join(lines)


@magics_class
class MlopsMagics(Magics):
    """``%mlops`` / ``%%mlops``: log experiments to MLflow from cells."""

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        """Dispatch ``%mlops SUBCOMMAND ...``; replaced below by the full usage."""
        name, _, rest = _without_comment(line).strip().partition(" ")
        if not name or name in ("help", "-h", "--help"):
            _load_features()
            print(help_text())
            return None
        _load_features()
        sub = SUBCOMMANDS.get(name)
        if sub is None:
            raise UsageError(
                f"unknown subcommand {name!r}; valid: {', '.join(sorted(SUBCOMMANDS))} "
                "(see %mlops help)"
            )
        if sub.cell and cell is None:
            raise UsageError(f"{name} is a cell magic: put {sub.usage} at the top of a cell")
        if not sub.cell and cell is not None:
            raise UsageError(f"%%mlops {name} takes no cell body; use the line form {sub.usage}")
        if _wants_help(rest):
            print(sub.func.__doc__)
            return None
        try:
            # posix splitting removes quotes, which IPython's parse_argstring keeps
            args = sub.parser.parse_args(arg_split(rest, posix=True))
        except (UsageError, ValueError) as exc:
            # argparse quotes the user's words as given: a quoted newline stays visible as \n
            said = str(exc).replace("\r", "\\r").replace("\n", "\\n")
            raise UsageError(f"{said}; usage: {sub.usage}") from None
        try:
            if sub.cell:
                return sub.func(self.shell, args, cell)
            return sub.func(self.shell, args)
        except MlopsError as exc:
            raise UsageError(_one_line(str(exc))) from None


def _without_comment(line: str) -> str:
    """``line`` without a trailing shell-style ``# comment`` (IPython hands magics the comment).

    As in a shell, ``#`` starts a comment only at the start of a word and outside quotes:
    ``tag=#1``, ``"a # b"`` and ``\\#`` stay. A line with an unclosed quote is returned
    whole, for the parser to report.
    """
    quote = None
    escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def _one_line(message: str) -> str:
    """A message listing problems on lines of their own, as one line (``head: a; b``)."""
    head, *rest = message.strip().splitlines() or [""]
    items = [line.strip().removeprefix("- ") for line in rest if line.strip()]
    return f"{head.rstrip(':')}: {'; '.join(items)}" if items else head


def _wants_help(rest: str) -> bool:
    try:
        words = shlex.split(rest)
    except ValueError:
        return False
    return "--help" in words or "-h" in words


#: user-namespace variables through which frontends or runners name the notebook
_NOTEBOOK_VARS = ("__vsc_ipynb_file__", "PAPERMILL_INPUT_PATH")


def _notebook_hint(user_ns: dict[str, Any]) -> str | None:
    for name in _NOTEBOOK_VARS:
        value = user_ns.get(name)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return value
    return None


_API = "jupyter_mlops.tracking.api"


def _tracker() -> Any:
    return warm_imports.load(_API).tracker()


def _on_pre_run_cell(info: Any) -> None:
    t = _tracker()
    t.cell_source = getattr(info, "raw_cell", None)
    if t.notebook_hint is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            t.notebook_hint = _notebook_hint(shell.user_ns)
    if os.environ.get(RUN_ID_ENV):
        # attach in the thread running cells, so mlflow.* there sees the run as active
        with contextlib.suppress(MlopsError):
            t.active  # noqa: B018


def _on_post_run_cell(result: Any) -> None:
    api = warm_imports.loaded(_API)  # never wait here: this runs after every cell
    if api is None:
        return  # no tracker yet, hence no run whose end status this cell decides
    api.tracker().last_cell_failed = bool(result.error_in_exec or result.error_before_exec)


def _warm_up(notebook_hint: str | None) -> None:
    """Off the kernel's thread: the subcommands, MLflow, the store, and dead runs marked KILLED."""
    try:
        with warm_imports.importing():  # our modules: the kernel's thread waits only for these
            _load_features()
            t = _tracker()
            from ..tracking.writing.stale_runs import reap_stale_runs
        if t.notebook_hint is None:
            t.notebook_hint = notebook_hint
        reap_stale_runs(t.client)
    except Exception:
        return  # best effort: the first real call reports store errors to the user


#: the warm-up thread of the last load (tests wait on it)
warm_up_thread: threading.Thread | None = None


def load(ipython: Any) -> None:
    """Register the magics and hooks on ``ipython``; everything else warms up in the background.

    ``%load_ext`` stays a registration: the subcommands' modules, the services and
    MLflow load on a thread, and the first ``%mlops`` call waits only for what it needs.
    """
    global warm_up_thread
    ipython.register_magics(MlopsMagics)
    ipython.events.register("pre_run_cell", _on_pre_run_cell)
    ipython.events.register("post_run_cell", _on_post_run_cell)
    hint = _notebook_hint(ipython.user_ns)
    warm_up_thread = threading.Thread(
        target=_warm_up, args=(hint,), name="mlops-warm-up", daemon=True
    )
    warm_up_thread.start()


def unload(ipython: Any) -> None:
    """Flush pending values and remove the hooks."""
    for event, callback in (
        ("pre_run_cell", _on_pre_run_cell),
        ("post_run_cell", _on_post_run_cell),
    ):
        with contextlib.suppress(ValueError):
            ipython.events.unregister(event, callback)
    _tracker().flush()
