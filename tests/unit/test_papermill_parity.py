"""``jupyter mlops params`` shows what ``papermill --help-notebook`` shows.

On every notebook papermill ships with its own tests (``papermill/tests/notebooks``, in
papermill's wheel), papermill's command is run in-process through click and its output
parsed; ours must list the same names, defaults and help, and agree on every type papermill
names (papermill says "Unknown type" where the cell has no annotation; we infer one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import papermill
import pytest
from click.testing import CliRunner
from papermill.cli import papermill as papermill_cli

from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.headless.parameters import check_params, load_notebook_json

SHIPPED = Path(papermill.__file__).parent / "tests" / "notebooks"
NOTEBOOKS = sorted(SHIPPED.rglob("*.ipynb"))
#: "  name: type (default value)" then the help, on the same line or the next one
DEFINITION = re.compile(r"^  (?P<name>\w+): (?P<type>.+?) \(default (?P<default>.*)\)(?P<help>.*)$")


def _papermill_help(notebook: Path) -> list[dict[str, str]]:
    result = CliRunner().invoke(papermill_cli, ["--help-notebook", str(notebook)])
    assert "Parameters inferred for notebook" in result.output, result.output
    found: list[dict[str, str]] = []
    for line in result.output.splitlines():
        match = DEFINITION.match(line)
        if match:
            found.append({k: v.strip() for k, v in match.groupdict().items()})
        elif found and line.startswith(" " * 34) and line.strip():
            found[-1]["help"] = line.strip()
    return found


def _ours(notebook: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    assert main(["params", str(notebook), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_papermill_ships_its_test_notebooks() -> None:
    assert len(NOTEBOOKS) >= 20 and (SHIPPED / "complex_parameters.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_params_matches_papermill_help_notebook(
    notebook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = _papermill_help(notebook)
    ours = _ours(notebook, capsys)
    assert [(p["name"], p["default"], p["help"]) for p in ours] == [
        (p["name"], p["default"], p["help"]) for p in theirs
    ]
    for mine, their in zip(ours, theirs, strict=True):
        assert their["type"] in ("Unknown type", mine["type"]), (mine, their)


def test_complex_parameters_keeps_what_papermill_reads_past_the_broken_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ours = {p["name"]: p for p in _ours(SHIPPED / "complex_parameters.ipynb", capsys)}
    assert list(ours) == ["msg", "a", "b", "c"]
    assert ours["a"] == {"name": "a", "type": "float", "default": "2.25", "help": "Variable a"}
    assert ours["b"]["type"] == "List[str]" and ours["b"]["default"] == "['Hello','World']"


def test_run_stays_stricter_than_papermill_on_its_notebooks() -> None:
    doc = load_notebook_json(SHIPPED / "complex_parameters.ipynb")
    check_params({"a": 3, "msg": "hi", "b": ["x"]}, doc, "complex_parameters.ipynb")
    with pytest.raises(InvalidInput, match=r"unknown parameter\(s\) e .*known: msg"):
        check_params({"e": 1}, doc, "complex_parameters.ipynb")
    with pytest.raises(InvalidInput, match="'a' expects float"):
        check_params({"a": "big"}, doc, "complex_parameters.ipynb")
    with pytest.raises(InvalidInput, match="no cell tagged 'parameters'"):
        check_params({"x": 1}, load_notebook_json(SHIPPED / "binder.ipynb"), "binder.ipynb")
