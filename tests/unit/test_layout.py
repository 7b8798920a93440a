"""The package layout stays as docs/architecture.md draws it.

Read from the source with ``ast`` (nothing is imported): every import of ours, including
those inside functions and under ``TYPE_CHECKING``, is an arrow; arrows must not form a
cycle, services must not point at interfaces, and no module grows past the size a reader
can hold.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "jupyter_mlops"
MAX_LINES = 500
INTERFACES = ("cli", "magics", "server", "widgets")
SERVICES = ("tracking", "data", "models", "headless", "pipelines", "schedules")
FOUNDATIONS = ("config", "errors", "_version")
FRONTEND_LIBRARIES = ("IPython", "ipywidgets", "tornado", "jupyter_server")
#: the one sanctioned arrow between interfaces: ``%mlops panel`` displays the widget panel
INTERFACE_ARROWS = {("magics", "widgets")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base.pop()
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, tree: ast.AST) -> set[str]:
    """Modules of ours that ``module`` imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            subs = {f"{target}.{alias.name}" for alias in node.names}
            found.update(sub for sub in subs if sub in MODULES)
            if not subs <= set(MODULES):
                found.add(target)
    return {t for t in found if t in MODULES and t != module}


def _graph() -> dict[str, set[str]]:
    return {m: _targets(m, ast.parse(p.read_text(encoding="utf-8"))) for m, p in MODULES.items()}


def _third_party(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    # the top-level package only re-exports (lazily, or for type checkers): not an arrow back
    graph["jupyter_mlops"] = set()
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(exc.args[1]))


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_module_is_small_enough(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: give its concerns their own modules"


def test_services_never_import_an_interface_or_a_frontend_library() -> None:
    graph = _graph()
    wrong = []
    for module, targets in graph.items():
        if _layer(module) not in SERVICES:
            continue
        wrong += [f"{module} -> {t}" for t in targets if _layer(t) in INTERFACES]
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        wrong += [f"{module} -> {lib}" for lib in _third_party(tree) & set(FRONTEND_LIBRARIES)]
    assert not wrong, "services must stay free of interfaces:\n" + "\n".join(wrong)


def test_interfaces_never_import_each_other() -> None:
    wrong = [
        f"{module} -> {t}"
        for module, targets in _graph().items()
        for t in targets
        if _layer(module) in INTERFACES
        and _layer(t) in INTERFACES
        and _layer(t) != _layer(module)
        and (_layer(module), _layer(t)) not in INTERFACE_ARROWS
    ]
    assert not wrong, "interfaces call services, not each other:\n" + "\n".join(wrong)


def test_foundations_import_nothing_of_ours_but_foundations() -> None:
    graph = _graph()
    for name in FOUNDATIONS:
        module = f"jupyter_mlops.{name}"
        assert {_layer(t) for t in graph[module]} <= set(FOUNDATIONS), module


def test_the_checker_sees_a_cycle(tmp_path: Path) -> None:
    """The cycle check is not vacuous: a two-module loop is reported."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())
    assert "jupyter_mlops.tracking.api" in MODULES  # the walk found the package


def test_no_assert_statement_in_the_package() -> None:
    """``python -O`` strips asserts: a check the code relies on must be a real ``if ... raise``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []
