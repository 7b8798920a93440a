"""Which numbers ``log`` keeps as params: the names that are settings of the run.

A number is a metric unless its name is a setting: assigned in the notebook's cell
tagged ``parameters`` (the names papermill's ``-p`` sets) or already a param of the
run (papermill's ``-p``, ``%%mlops run --params``, ``log_params``). So ``lr`` is a
param whether it came from ``-p lr 0.05`` or ``%mlops log lr=0.01``.

The cell is read with the standard library (JSON + ``ast``), once per notebook
version: logging must not import papermill or nbformat.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

__all__ = ["declared_names"]


def declared_names(notebook: Path | None) -> frozenset[str]:
    """Names assigned at the top level of ``notebook``'s ``parameters`` cell (none if unknown)."""
    if notebook is None:
        return frozenset()
    try:
        version = notebook.stat().st_mtime_ns
    except OSError:
        return frozenset()
    return _names(str(notebook), version)


@functools.lru_cache(maxsize=16)
def _names(path: str, version: int) -> frozenset[str]:
    from ...errors import MlopsError
    from ...headless.parameters import load_notebook_json, parameters_cell

    try:
        source = parameters_cell(load_notebook_json(path))
    except MlopsError:
        return frozenset()
    if not source:
        return frozenset()
    # magics and shell escapes are not Python: leave them out, as papermill does
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)
