"""What a kernel template imports before it forks: found statically, plus what is configured.

The modules a notebook imports in its first code cells (read with :mod:`ast`, the
notebook is not run) that belong to an allow-list of libraries known to be safe to
import before a fork (they start no Python thread, open no socket and touch no GPU
when imported) and jupyter-mlops's own tracking API, plus the ``preload`` list of
``[tool.jupyter-mlops]``, of ``pipeline.yaml`` or of ``MLOPS_PRELOAD`` (comma-separated),
taken as given.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from ...config import PRELOAD_ENV, project_preload
from ..parameters import load_notebook_json

__all__ = ["ALLOWED", "FIRST_CELLS", "configured_preload", "notebook_preload", "wanted_preload"]

#: top-level packages whose import is safe before a fork
ALLOWED = frozenset(
    {"numpy", "pandas", "scipy", "sklearn", "pyarrow", "matplotlib", "statsmodels", "joblib"}
)
#: submodules that start threads, open connections or load a GUI or GPU when imported
_UNSAFE = ("pyarrow.flight", "pyarrow.cuda", "pyarrow.substrait")
#: packages imported only at their top (a submodule picks a backend: ``matplotlib.pyplot``)
_TOP_ONLY = frozenset({"matplotlib"})
#: what an import of jupyter-mlops itself preloads: the package is a lazy facade, and the
#: tracking API behind ``mlops.log`` is what a notebook's first call would import (it reads
#: no setting and opens nothing until it is used)
_OWN = ("jupyter_mlops", "jupyter_mlops.tracking.api")
#: how many leading code cells are read for imports
FIRST_CELLS = 5
_MAGIC = re.compile(r"^\s*[%!?]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _cell_imports(source: str) -> list[str]:
    """Modules imported by one cell (magics and shell lines left out)."""
    code = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def _allowed(name: str) -> str | None:
    """The module to preload for an import of ``name``, or None when it is not allow-listed."""
    top = name.split(".")[0]
    if top == _OWN[0]:
        return _OWN[1]
    if top not in ALLOWED or name.startswith(_UNSAFE):
        return None
    return top if top in _TOP_ONLY else name


def notebook_preload(path: str | os.PathLike[str]) -> list[str]:
    """Allow-listed modules imported by the first code cells of the notebook at ``path``."""
    try:
        cells = load_notebook_json(Path(path)).get("cells") or []
    except Exception:
        return []
    sources = [c.get("source", "") for c in cells if c.get("cell_type") == "code"]
    found: list[str] = []
    for source in sources[:FIRST_CELLS]:
        text = "".join(source) if isinstance(source, list) else str(source)
        for name in _cell_imports(text):
            module = _allowed(name)
            if module is not None and module not in found:
                found.append(module)
    return found


def configured_preload(env: Mapping[str, str]) -> list[str]:
    """``MLOPS_PRELOAD`` of ``env`` (a pipeline's ``preload:`` is added there), then ``preload``
    of the project's ``[tool.jupyter-mlops]``."""
    names = [n.strip() for n in env.get(PRELOAD_ENV, "").split(",") if _NAME.match(n.strip())]
    home = env.get("MLOPS_HOME")
    with contextlib.suppress(Exception):  # a broken pyproject.toml: the run itself reports it
        names += project_preload(Path(home)) if home else []
    return list(dict.fromkeys(names))


def wanted_preload(notebook: str | None, env: Mapping[str, str]) -> list[str]:
    """What the template of a kernel for ``notebook`` with ``env`` should have imported."""
    names = configured_preload(env)
    for name in notebook_preload(notebook) if notebook else []:
        if name not in names:
            names.append(name)
    return names
