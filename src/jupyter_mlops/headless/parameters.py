"""The ``parameters`` cell of a notebook: what it declares and whether given values fit.

Declared parameters are read by papermill's own inspection (what
``papermill --help-notebook`` shows) from the notebook's JSON, never starting a kernel.
Values given on a command line are parsed exactly like papermill's ``-p``,
``-r``, ``-y`` and ``-f`` options and checked more strictly than papermill does:
an unknown name or a value of the wrong type is refused before a run exists.
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
    "kernel_language",
    "load_notebook_json",
    "parameters_cell",
    "parameters_loader",
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


def kernel_language(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Return the notebook's ``(kernel name, language)``, as papermill reads them.

    A notebook that names neither is taken for Python (``python3``).
    """
    meta = doc.get("metadata", {}) or {}
    spec = meta.get("kernelspec", {}) or {}
    language = (meta.get("language_info", {}) or {}).get("name") or spec.get("language")
    return str(spec.get("name") or "python3"), str(language or "python")


def _infer_type(default: str) -> str:
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "expression"
    if value is None:
        return "None"
    kind = type(value).__name__
    return "list" if kind == "tuple" else kind


def declared_params(
    source: str, kernel_name: str = "python3", language: str = "python"
) -> list[NotebookParam] | None:
    """Return the parameters of a ``parameters`` cell, read by papermill's own inspection.

    Papermill is imported only for a cell it has not inspected before: answers are
    kept on disk (see :mod:`~.inspection_cache`) under a key made of the cell,
    the kernel, the language and the papermill version, so an unchanged notebook
    is checked without the import (a second of a cold command).

    Names, defaults and help are exactly what ``papermill --help-notebook`` shows (a line
    papermill cannot read is skipped, as papermill skips it); line magics and shell escapes
    are left out first. The type is the annotation or ``# type:`` comment when there is one,
    else inferred from the default: ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``,
    ``None``, or ``expression`` when not a literal.

    Returns ``None`` when papermill has no parameter inspection for the language.

    Examples
    --------
    >>> [p.name for p in declared_params("lr = 0.1  # step size\ndepth: int = 3")]
    ['lr', 'depth']
    """
    from .inspection_cache import remembered

    found = remembered(
        ("parameters", source, kernel_name, language),
        lambda: _inspect(source, kernel_name, language),
        encode=lambda params: None if params is None else [p.to_dict() for p in params],
        decode=lambda doc: None if doc is None else [NotebookParam(**d) for d in doc],
    )
    return None if found is None else list(found)


def _inspect(source: str, kernel_name: str, language: str) -> list[NotebookParam] | None:
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    lines = source.splitlines()
    code = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
    try:
        translator = papermill_translators.find_translator(kernel_name, language)
        found = translator.inspect({"source": code})
    except (PapermillException, NotImplementedError):
        return None
    unique = {p.name: p for p in found}
    return [
        NotebookParam(
            p.name,
            p.inferred_type_name if p.inferred_type_name != "None" else _infer_type(p.default),
            p.default,
            p.help,
        )
        for p in unique.values()
    ]


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


#: floats YAML 1.1 leaves as text: an exponent without a dot or a sign (``1e-5``, ``2E3``,
#: ``1.0e5``); YAML 1.2, JSON and Python read them as numbers, and so do we
_EXPONENT_FLOAT = r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"


def parameters_loader() -> type:
    """A safe YAML loader reading parameters as a user means them.

    Timestamps stay text, as papermill reads parameters; ``1e-5`` is a float (YAML 1.1
    would leave it a string, and a ``-p`` value or a Python default of that form is a
    float). Subclass it to change how mappings are built.
    """
    import re

    import yaml

    class ParametersLoader(yaml.SafeLoader):
        """Safe YAML without implicit timestamps, with YAML 1.2 exponent floats."""

    ParametersLoader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    ParametersLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(_EXPONENT_FLOAT), list("-+.0123456789")
    )
    return ParametersLoader


def _yaml_mapping(text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=parameters_loader())
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


def check_params(params: Mapping[str, Any], doc: Mapping[str, Any], notebook: str) -> None:
    """Refuse parameters the notebook cannot take, before any kernel starts.

    Stricter than papermill, which injects any name and value: a name the parameters
    cell does not declare, or a value of another type than the declared default's, is
    refused listing what the cell declares. A language papermill cannot inspect is not
    checked.

    Parameters
    ----------
    params : mapping
        Values to inject.
    doc : mapping
        The notebook, as read by :func:`load_notebook_json`.
    notebook : str
        Shown in messages.
    """
    if not params:
        return
    cell = parameters_cell(doc)
    if cell is None:
        raise InvalidInput(
            f"{notebook} has no cell tagged 'parameters', so -p {next(iter(params))} has nowhere "
            "to go; tag the cell holding the defaults with 'parameters' (cell toolbar > tags)"
        )
    declared = declared_params(cell, *kernel_language(doc))
    if declared is None:
        return
    known = {p.name: p for p in declared}
    unknown = [name for name in params if name not in known]
    if unknown:
        listing = ", ".join(f"{p.name} ({p.type}, default {p.default})" for p in declared)
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(unknown)} for {notebook}; "
            f"known: {listing or '(none: the parameters cell declares none)'}"
        )
    for name, value in params.items():
        problem = _type_error(known[name], value)
        if problem:
            raise InvalidInput(f"{problem}; pass e.g. -p {name} {known[name].default}")
