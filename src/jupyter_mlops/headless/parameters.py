"""The ``parameters`` cell of a notebook: what it declares and whether given values fit.

Read with :mod:`ast` from the notebook's JSON, so listing or checking parameters
costs milliseconds and never starts a kernel (nor imports nbformat).
Values given on a command line are parsed exactly like papermill's ``-p``,
``-r``, ``-y`` and ``-f`` options.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound

__all__ = [
    "PARAMETER_OPTIONS",
    "NotebookParam",
    "check_params",
    "cli_params",
    "declared_params",
    "load_notebook_json",
    "parameters_cell",
]

PARAMETERS_TAG = "parameters"
#: inferred type -> Python types a given value may have
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


@dataclass(frozen=True)
class NotebookParam:
    """One name assigned in the ``parameters`` cell.

    Attributes
    ----------
    name : str
        Variable name.
    type : str
        ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``, ``None``, the
        annotation's text when annotated, or ``expression`` when not a literal.
    default : str
        The default's source text, as written in the cell.
    help : str
        The comment at the end of the line, if any.
    """

    name: str
    type: str
    default: str
    help: str = ""

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready mapping."""
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


def load_notebook_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a notebook file as plain JSON, with one-line errors."""
    nb_path = Path(path).expanduser()
    if nb_path.suffix != ".ipynb":
        raise InvalidInput(
            f"{str(nb_path)!r} is not a notebook; give a .ipynb file, e.g. train.ipynb"
        )
    try:
        doc = json.loads(nb_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no notebook {str(nb_path)!r}; check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read notebook {str(nb_path)!r}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise InvalidInput(f"{str(nb_path)!r} is not a Jupyter notebook (no 'cells' list)")
    return doc


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parameters_cell(doc: Mapping[str, Any]) -> str | None:
    """Return the source of the first code cell tagged ``parameters``, else ``None``."""
    for cell in doc.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            return _source(cell)
    return None


def _infer_type(node: ast.expr) -> str:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "expression"
    if value is None:
        return "None"
    kind = type(value).__name__
    return "list" if kind == "tuple" else kind


def _comment(lines: list[str], lineno: int) -> str:
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    _, hash_, comment = line.partition("#")
    return comment.strip() if hash_ else ""


def declared_params(source: str) -> list[NotebookParam]:
    """Return the names assigned at top level of a parameters cell, in order.

    Examples
    --------
    >>> [p.name for p in declared_params("lr = 0.1  # step size\\ndepth: int = 3")]
    ['lr', 'depth']
    """
    # Magics and shell escapes are not Python; blank them so the rest still parses.
    lines = source.splitlines()
    code = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise InvalidInput(
            f"the parameters cell does not parse (line {exc.lineno}: {exc.msg}); fix it first"
        ) from None
    found: dict[str, NotebookParam] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            kind = ast.unparse(node.annotation)
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name)]
            value, kind = node.value, _infer_type(node.value)
        else:
            continue
        default = ast.get_source_segment(code, value) or ast.unparse(value)
        for target in targets:
            found[target.id] = NotebookParam(target.id, kind, default, _comment(lines, node.lineno))
    return list(found.values())


def resolve_value(text: str) -> Any:
    """Parse a ``-p`` value like papermill: True/False/None, int, float, else the text."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def _yaml_mapping(text: str, where: str) -> dict[str, Any]:
    import yaml

    class _NoDates(yaml.SafeLoader):
        """YAML without implicit timestamps, as papermill reads parameters."""

    _NoDates.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        data = yaml.load(text, Loader=_NoDates)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise InvalidInput(f"{where} is not valid YAML ({first}); e.g. -y 'lr: 0.1'") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where} must be a YAML mapping of name: value, e.g. 'lr: 0.1'")
    return {str(k): v for k, v in data.items()}


#: papermill-style parameter options, shared by ``jupyter mlops run`` and ``%mlops run_notebook``:
#: ``(flags, argparse keyword arguments)``; :func:`cli_params` turns their values into params
PARAMETER_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("-p", "--parameters"),
        {
            "nargs": 2,
            "action": "append",
            "default": [],
            "metavar": ("NAME", "VALUE"),
            "help": "parameter; the value is parsed like papermill's -p (numbers, True/False/None)",
        },
    ),
    (
        ("-r", "--parameters-raw"),
        {
            "nargs": 2,
            "action": "append",
            "default": [],
            "metavar": ("NAME", "VALUE"),
            "help": "parameter kept as a raw string",
        },
    ),
    (
        ("-y", "--parameters-yaml"),
        {
            "action": "append",
            "default": [],
            "metavar": "YAML",
            "help": "parameters as a YAML mapping, e.g. -y 'lr: 0.1'",
        },
    ),
    (
        ("-f", "--parameters-file"),
        {"action": "append", "default": [], "metavar": "FILE", "help": "YAML file of parameters"},
    ),
)


def cli_params(
    pairs: Iterable[tuple[str, str]] = (),
    raw: Iterable[tuple[str, str]] = (),
    yaml_texts: Iterable[str] = (),
    files: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """Merge parameters given as papermill does: files, then YAML, then ``-p``, then ``-r``."""
    params: dict[str, Any] = {}
    for file in files:
        try:
            text = Path(file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot read parameters file {str(file)!r}: {exc.strerror}"
            ) from None
        params.update(_yaml_mapping(text, f"parameters file {str(file)!r}"))
    for text in yaml_texts:
        params.update(_yaml_mapping(text, f"-y {text!r}"))
    for name, value in pairs:
        params[name] = resolve_value(value)
    for name, value in raw:
        params[name] = value
    return params


def _type_error(param: NotebookParam, value: Any) -> str | None:
    accepts = _ACCEPTS.get(param.type)
    if accepts is None or value is None:
        return None
    ok = isinstance(value, accepts) and not (param.type != "bool" and isinstance(value, bool))
    if ok:
        return None
    return f"parameter {param.name!r} expects {param.type} (default {param.default}), got {value!r}"


def check_params(
    params: Mapping[str, Any], declared: list[NotebookParam] | None, notebook: str
) -> None:
    """Refuse parameters the notebook cannot take, before any kernel starts.

    Parameters
    ----------
    params : mapping
        Values to inject.
    declared : list of NotebookParam or None
        What the parameters cell defines; ``None`` when the notebook has no such cell.
    notebook : str
        Shown in messages.
    """
    if not params:
        return
    if declared is None:
        raise InvalidInput(
            f"{notebook} has no cell tagged 'parameters', so -p {next(iter(params))} has nowhere "
            "to go; tag the cell holding the defaults with 'parameters' (cell toolbar > tags)"
        )
    known = {p.name: p for p in declared}
    unknown = [name for name in params if name not in known]
    if unknown:
        listing = ", ".join(f"{p.name} ({p.type}, default {p.default})" for p in declared)
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(unknown)} for {notebook}; "
            f"known: {listing or '(none: the parameters cell is empty)'}"
        )
    for name, value in params.items():
        problem = _type_error(known[name], value)
        if problem:
            raise InvalidInput(f"{problem}; pass e.g. -p {name} {known[name].default}")
