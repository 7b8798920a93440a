"""The package layout stays as docs/architecture.md draws it.

Read from the source with ``ast`` (nothing is imported): every import of ours, including
those inside functions and under ``TYPE_CHECKING``, is an arrow; arrows must not form a
cycle, services must not point at interfaces, and no module grows past the size a reader
can hold.
"""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
ARCHITECTURE = REPO / "docs" / "architecture.md"
PACKAGE = SRC / "jupyter_mlops"
MAX_LINES = 500
INTERFACES = ("cli", "magics", "server", "widgets")
SERVICES = ("tracking", "data", "models", "headless", "pipelines", "schedules")
FOUNDATIONS = (
    "config",
    "errors",
    "_version",
    "_public",
    "liveness",
    "json_values",
    "warm_imports",
    "portability",
    "atomic_files",
)
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


# -- the arrows docs/architecture.md draws -----------------------------------------------
#: modules outside ``tracking/`` may import only these of it (a package covers its modules)
TRACKING_PUBLIC = (
    "tracking.api",
    "tracking.diff.api",
    "tracking.diff.sides",
    "tracking.mlflow_bridge.store",
    "tracking.mlflow_bridge.fluent",
    "tracking.mlflow_tables.run_reads",
    "tracking.mlflow_tables.run_writes",
    "tracking.writing.tracker",
    "tracking.writing.run_context",
    "tracking.writing.owned_run",
    "tracking.writing.experiments",
    "tracking.writing.shared_runs",
    "tracking.writing.value_checks",
    "tracking.writing.log_buffer",
    "tracking.writing.run_stack",
    "tracking.writing.stale_runs",
    "tracking.writing.environment_lock",
    "tracking.reading.environment",
    "tracking.reading.browse",
    "tracking.reading.columns",
    "tracking.reading.frames",
    "tracking.reading.index",
    "tracking.reading.artifact_copy",
)


def _short(module: str) -> str:
    return module.removeprefix("jupyter_mlops.")


def _unit(module: str, units: list[str]) -> str | None:
    """The longest drawn unit (``pipelines``, ``tracking.writing``, ``tracking.api``) holding it."""
    name = _short(module)
    held = [u for u in units if name == u or name.startswith(u + ".")]
    return max(held, key=len) if held else None


def _drawn(heading: str) -> dict[tuple[str, str], set[str]]:
    """(from, to) -> the modules the arrow is restricted to, from a table of the document."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    arrows: dict[tuple[str, str], set[str]] = {}
    for line in ("|" + section).splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        source = _dotted(cells[0])
        only = set(re.findall(r"`([^`]+)`", cells[2])) if len(cells) > 2 else set()
        for cell in re.findall(r"`([^`]+)`", cells[1]):
            target = _dotted(cell)  # "only through" names restrict the targets they lie in
            arrows[(source, target)] = {o for o in only if o.startswith(target + ".")}
    return arrows


def _dotted(cell: str) -> str:
    return cell.strip("` ").removesuffix("/").removesuffix(".py").replace("/", ".")


def _code_arrows(units: list[str]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for module, targets in _graph().items():
        source = _unit(module, units)
        for target in targets:
            dest = _unit(target, units)
            if source and dest and source != dest:
                found.setdefault((source, dest), set()).add(_short(target))
    return found


def _check_drawn(heading: str, units: list[str]) -> None:
    drawn, code = _drawn(heading), _code_arrows(units)
    undrawn = sorted(f"{a} -> {b}" for a, b in code if (a, b) not in drawn)
    stale = sorted(f"{a} -> {b}" for a, b in drawn if (a, b) not in code)
    assert not undrawn, "imports docs/architecture.md does not draw: " + ", ".join(undrawn)
    assert not stale, "arrows docs/architecture.md draws but the code lacks: " + ", ".join(stale)
    for arrow, only in drawn.items():
        outside = sorted(
            t
            for t in code[arrow]
            if only and not any(t == o or t.startswith(o + ".") for o in only)
        )
        assert not outside, (
            f"{arrow[0]} -> {arrow[1]} goes through {outside}, drawn: {sorted(only)}"
        )


def test_arrows_between_services_are_the_ones_the_document_draws() -> None:
    _check_drawn("Between services", list(SERVICES))


def test_arrows_inside_tracking_are_the_ones_the_document_draws() -> None:
    units = sorted({a for a, _ in _drawn("Inside `tracking/`:")})
    units += ["tracking.mlflow_bridge"]
    _check_drawn("Inside `tracking/`:", units)


def test_the_tracking_folders_are_the_drawn_ones() -> None:
    drawn = {u for arrow in _drawn("Inside `tracking/`:") for u in arrow}
    present = {_short(m).split(".")[1] for m in MODULES if _short(m).startswith("tracking.")}
    assert {d.split(".")[1] for d in drawn} == present - {"__init__"}


def test_outside_tracking_only_its_public_modules_are_imported() -> None:
    wrong = sorted(
        f"{_short(module)} -> {_short(target)}"
        for module, targets in _graph().items()
        if _layer(module) != "tracking"
        for target in targets
        if _layer(target) == "tracking"
        and _short(target) != "tracking"
        and not any(
            _short(target) == p or _short(target).startswith(p + ".") for p in TRACKING_PUBLIC
        )
    )
    assert not wrong, "import tracking/ through its public modules:\n" + "\n".join(wrong)


def test_the_arrow_checker_sees_an_undrawn_arrow() -> None:
    """Not vacuous: the service table parses into arrows and restrictions."""
    drawn = _drawn("Between services")
    assert ("pipelines", "headless") in drawn
    assert "headless.execution" in drawn[("pipelines", "headless")]
    assert ("headless", "pipelines") not in drawn
