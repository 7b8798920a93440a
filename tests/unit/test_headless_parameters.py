"""The parameters cell: declared names and types, papermill-style values, checks before a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.headless.parameters import (
    check_params,
    cli_params,
    declared_params,
    load_notebook_json,
    parameters_cell,
    resolve_value,
)

CELL = """\
lr = 0.05  # learning rate
depth: int = 8
model = "rf"
use_gpu = False
layers = [64, 32]
opts = {"a": 1}
seed = None
start = pd.Timestamp("2024-01-01")
%matplotlib inline
"""


def _notebook(path: Path, cells: list[tuple[str, list[str]]], kernel: bool = True) -> Path:
    doc = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": (
            {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
            if kernel
            else {}
        ),
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": tags},
                "source": src,
                "outputs": [],
                "execution_count": None,
                "id": f"c{i}",
            }
            for i, (src, tags) in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_declared_params_names_types_defaults_and_comments() -> None:
    found = {p.name: p for p in declared_params(CELL) or []}
    assert list(found) == ["lr", "depth", "model", "use_gpu", "layers", "opts", "seed", "start"]
    assert (found["lr"].type, found["lr"].default, found["lr"].help) == (
        "float",
        "0.05",
        "learning rate",
    )
    assert found["depth"].type == "int"  # from the annotation
    assert found["model"].type == "str" and found["model"].default == '"rf"'
    assert found["use_gpu"].type == "bool"
    assert found["layers"].type == "list" and found["opts"].type == "dict"
    assert found["seed"].type == "None"
    assert found["start"].type == "expression"


def test_a_line_papermill_cannot_read_is_skipped_and_the_rest_kept() -> None:
    found = declared_params("lr = (\nd = a == 3\ndepth = 4  # layers\n")
    assert found is not None
    assert [(p.name, p.default, p.help) for p in found] == [
        ("lr", "(", ""),
        ("depth", "4", "layers"),
    ]


def test_a_language_papermill_cannot_inspect_declares_nothing_and_is_not_checked() -> None:
    assert declared_params("lr <- 0.1", "ir", "R") is None
    doc = {"metadata": {"kernelspec": {"name": "ir", "language": "R"}}, "cells": [_cell("lr <- 1")]}
    check_params({"anything": 1}, doc, "r.ipynb")  # papermill's injection decides


def test_values_are_parsed_like_papermill() -> None:
    assert resolve_value("True") is True and resolve_value("None") is None
    assert resolve_value("8") == 8 and isinstance(resolve_value("8"), int)
    assert resolve_value("0.05") == 0.05
    assert resolve_value("rf") == "rf"


def test_sources_merge_in_papermill_order(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("lr: 0.1\ndepth: 2\nmodel: svm\nday: 2024-01-01\n")
    params = cli_params(
        pairs=[("depth", "5")], raw=[("model", "007")], yaml_texts=["lr: 0.2"], files=[f]
    )
    # file < yaml < -p < -r; YAML dates stay text as in papermill
    assert params == {"lr": 0.2, "depth": 5, "model": "007", "day": "2024-01-01"}


def test_yaml_exponent_numbers_are_floats_as_with_dash_p() -> None:
    texts = ["lr: 1e-5", "b: 2E3", "c: 1.0e5", "d: .5e-2", "e: e5", "f: 1e", "g: 0x1f"]
    params = cli_params(yaml_texts=texts, pairs=[("p", "1e-5")])
    # what PyYAML's YAML 1.1 leaves as text, YAML 1.2 and papermill's -p read as numbers
    assert params == {
        "lr": 1e-5,
        "b": 2000.0,
        "c": 100000.0,
        "d": 0.005,
        "e": "e5",
        "f": "1e",
        "g": 31,
        "p": 1e-5,
    }
    assert all(isinstance(params[k], float) for k in ("lr", "b", "c", "d", "p"))


def test_bad_yaml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="YAML mapping"):
        cli_params(yaml_texts=["[1, 2]"])
    with pytest.raises(InvalidInput, match="cannot read parameters file"):
        cli_params(files=[tmp_path / "missing.yaml"])


def _cell(source: str, tags: tuple[str, ...] = ("parameters",)) -> dict:
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source}


def _doc(source: str | None) -> dict:
    return {"metadata": {}, "cells": [] if source is None else [_cell(source)]}


def test_check_params_refuses_unknown_names_and_lists_the_known() -> None:
    declared = _doc(CELL)
    check_params({"lr": 0.1, "depth": 3, "model": 5, "seed": None}, declared, "train.ipynb")
    with pytest.raises(InvalidInput) as err:
        check_params({"lrate": 0.1}, declared, "train.ipynb")
    assert "lrate" in str(err.value) and "lr (float, default 0.05)" in str(err.value)


def test_check_params_refuses_values_of_the_wrong_kind() -> None:
    declared = _doc(CELL)
    with pytest.raises(InvalidInput, match="'lr' expects float"):
        check_params({"lr": "fast"}, declared, "nb")
    with pytest.raises(InvalidInput, match="'depth' expects int"):
        check_params({"depth": 2.5}, declared, "nb")
    with pytest.raises(InvalidInput, match="'use_gpu' expects bool"):
        check_params({"use_gpu": 1}, declared, "nb")


def test_no_parameters_cell_refuses_any_parameter() -> None:
    check_params({}, _doc(None), "nb")
    with pytest.raises(InvalidInput, match="no cell tagged 'parameters'"):
        check_params({"lr": 1}, _doc(None), "nb.ipynb")


def test_load_notebook_json_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_notebook_json(tmp_path / "nope.ipynb")
    with pytest.raises(InvalidInput, match="not a notebook"):
        load_notebook_json(tmp_path / "train.py")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot read notebook"):
        load_notebook_json(bad)


def test_parameters_cell_is_the_tagged_code_cell(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "a.ipynb", [("x = 1", []), ("lr = 0.1", ["parameters"])])
    assert parameters_cell(load_notebook_json(nb)) == "lr = 0.1"


def test_cli_params_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = _notebook(tmp_path / "t.ipynb", [(CELL, ["parameters"])])
    assert main(["params", str(nb)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "type", "default", "help"]
    assert out[1].split()[:3] == ["lr", "float", "0.05"] and out[1].endswith("learning rate")
    assert main(["params", str(nb), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1] == {"name": "depth", "type": "int", "default": "8", "help": ""}


def test_cli_run_checks_parameters_before_any_run_or_kernel(
    store, client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(store.root / "train.ipynb", [("lr = 0.1\ndepth = 3", ["parameters"])])
    plain = _notebook(store.root / "plain.ipynb", [("x = 1", [])])
    nokernel = _notebook(store.root / "nok.ipynb", [("lr = 1", ["parameters"])], kernel=False)
    cases = [
        (["run", str(nb), "-p", "lrate", "0.2"], "known: lr (float, default 0.1), depth (int"),
        (["run", str(nb), "-p", "depth", "deep"], "'depth' expects int"),
        (["run", str(plain), "-p", "lr", "1"], "no cell tagged 'parameters'"),
        (["run", str(nokernel)], "--kernel python3"),
        (["run", str(nb), "--kernel", "cobol"], "no Jupyter kernel named 'cobol'"),
        (["run", str(nb), "--output", "out.txt"], "must end in .ipynb"),
        (["run", str(store.root / "missing.ipynb")], "no notebook"),
        (["run", str(nb), "-p", "lr"], "expected 2 arguments"),
    ]
    for argv, expected in cases:
        assert _exit_code(argv) == 2, argv
        err = capsys.readouterr().err
        assert expected in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err
    # nothing was half-written: no run, no output folder
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
    assert not (store.store_dir / "outputs").exists()


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code or 0)
