"""Every module the package imports is declared in pyproject.toml.

Read from the source with ``ast`` (nothing is imported): each absolute import anywhere in
``src/jupyter_mlops`` (inside functions too) names a top-level module; the distribution
providing it must be a dependency, or belong to an extra, in which case the import sits in
a ``try`` that catches ``ImportError`` and the module names the extra to install.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "jupyter_mlops"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _dist_name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~;\[@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


CORE = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
EXTRAS = {
    extra: {_dist_name(r) for r in reqs}
    for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()
}
PROVIDERS = metadata.packages_distributions()


def _guarded(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside a ``try`` that handles ``ImportError``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        if not any(n in text for text in caught for n in ("ImportError", "ModuleNotFoundError")):
            continue
        for stmt in node.body:
            lines.update(
                sub.lineno for sub in ast.walk(stmt) if isinstance(sub, ast.Import | ast.ImportFrom)
            )
    return lines


def _imports() -> Iterator[tuple[str, Path, int, bool]]:
    """``(top-level module, file, line, guarded)`` for every third-party import."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ours = top in ("jupyter_mlops", "__future__")
                if not ours and top not in sys.stdlib_module_names:
                    yield top, path, node.lineno, node.lineno in guarded


def _distributions(module: str) -> set[str]:
    found = PROVIDERS.get(module) or [module]
    return {re.sub(r"[-_.]+", "-", d).lower() for d in found}


IMPORTS = sorted(set(_imports()))


def test_the_scan_sees_the_imports_we_know_of() -> None:
    seen = {top for top, *_ in IMPORTS}
    assert {"mlflow", "papermill", "nbconvert", "jupyter_server", "tornado", "sqlalchemy"} <= seen


@pytest.mark.parametrize("module", sorted({top for top, *_ in IMPORTS}))
def test_every_imported_module_is_declared(module: str) -> None:
    dists = _distributions(module)
    if dists & CORE:
        return
    extras = sorted(extra for extra, names in EXTRAS.items() if dists & names)
    where = [f"{p.relative_to(ROOT)}:{line}" for top, p, line, _ in IMPORTS if top == module]
    assert extras, f"{module} ({', '.join(sorted(dists))}) is imported at {where} but not declared"
    for top, path, line, guarded in IMPORTS:
        if top != module:
            continue
        text = path.read_text(encoding="utf-8")
        assert guarded, f"{path.relative_to(ROOT)}:{line} imports optional {module} unguarded"
        named = [extra for extra in extras if f"jupyter-mlops[{extra}]" in text]
        assert named, (
            f"{path.relative_to(ROOT)} must say which extra brings {module}: "
            f"pip install 'jupyter-mlops[{extras[0]}]'"
        )
