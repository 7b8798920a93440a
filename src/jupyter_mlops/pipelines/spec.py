"""``pipeline.yaml``: reading and validating a pipeline before anything runs.

Every problem is collected (malformed YAML with its line and column, unknown
keys, unknown ``needs``, cycles, missing notebooks, parameters a notebook does
not declare or whose type does not fit) and reported in one
:class:`PipelineInvalid` message, so a user fixes the file in one pass.

Examples
--------
>>> spec = load_spec("pipeline.yaml")           # doctest: +SKIP
>>> [s.name for s in spec.steps.values()]       # doctest: +SKIP
['prepare', 'train', 'evaluate']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, MlopsError
from ..headless.parameters import check_params, load_notebook_json, parameters_loader
from .search.config import SearchConfig

__all__ = ["PipelineInvalid", "PipelineSpec", "StepSpec", "build_spec", "load_spec"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"name", "experiment", "steps", "preload"}
_STEP_KEYS = {"notebook", "params", "needs", "sweep", "kernel", "timeout", "validate"}
SWEEP_KINDS = ("grid", "zip")


class PipelineInvalid(InvalidInput):
    """``pipeline.yaml`` has problems; ``problems`` lists each as one line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = sorted(problems, key=_line_of)
        problems = self.problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path.name}: {count}, nothing was run:\n{lines}")


def _line_of(problem: str) -> int:
    """Sort key: the line a problem is on; problems of the whole file go last."""
    match = re.match(r"line (\d+),", problem)
    return int(match.group(1)) if match else 1 << 30


@dataclass(frozen=True)
class StepSpec:
    """One step: a notebook, its parameters (lists expand when ``sweep`` is set), its needs."""

    name: str
    notebook: Path
    params: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    sweep: str | None = None
    kernel: str | None = None
    timeout: float | None = None
    #: ``(snapshot name, reference ref)``: check that input before the step runs
    validate: tuple[str, str] | None = None
    #: set for a searched step (``sweep: {method: tpe, ...}``); ``sweep`` is then the method
    search: SearchConfig | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline: steps by name, in file order."""

    name: str
    path: Path
    steps: dict[str, StepSpec]
    experiment: str | None = None
    #: modules the kernel template of every step preloads (``preload:``)
    preload: tuple[str, ...] = ()

    @property
    def experiment_name(self) -> str:
        """Experiment of the pipeline's runs: ``experiment:`` in the file, else its name."""
        return self.experiment or self.name


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers where each key was written."""

    marks: dict[str, tuple[int, int]]
    mark: tuple[int, int]
    duplicates: list[tuple[str, tuple[int, int]]]


def _loader() -> type:
    import yaml

    class Loader(parameters_loader()):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            out = _Mapping()
            out.marks, out.duplicates = {}, []
            out.mark = (node.start_mark.line + 1, node.start_mark.column + 1)
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    out.duplicates.append((str(key), where))
                out[key] = self.construct_object(value_node, deep=True)
                out.marks[str(key)] = where
            return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, Loader.construct_mapping)
    return Loader


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"no pipeline file {str(path)!r}; give the path of a pipeline.yaml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {str(path)!r}: {exc}") from None
    try:
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PipelineInvalid(path, [f"{where}malformed YAML: {problem}"]) from None


def _at(mapping: Any, key: str) -> str:
    marks = getattr(mapping, "marks", {})
    if key in marks:
        line, col = marks[key]
        return f"line {line}, column {col}: "
    mark = getattr(mapping, "mark", None)
    return f"line {mark[0]}, column {mark[1]}: " if mark else ""


class _Collector:
    """Gathers problems while the file is read."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.problems.append(f"{where}{text}")

    def unknown_keys(self, mapping: Any, allowed: set[str], what: str) -> None:
        for key in mapping:
            if str(key) not in allowed:
                self.add(
                    _at(mapping, str(key)),
                    f"unknown key {key!r} in {what}; valid keys: {', '.join(sorted(allowed))}",
                )
        for key, (line, col) in getattr(mapping, "duplicates", []):
            self.add(f"line {line}, column {col}: ", f"{key!r} is given twice in {what}")


def load_spec(path: str | os.PathLike[str], *, check_notebooks: bool = True) -> PipelineSpec:
    """Read and validate ``pipeline.yaml``; raise :class:`PipelineInvalid` listing every problem.

    Parameters
    ----------
    path : path-like
        The pipeline file. Notebook paths in it are relative to its folder.
    check_notebooks : bool
        Also open each notebook and check the parameters against its ``parameters`` cell.
    """
    file = Path(path).expanduser().resolve()
    return build_spec(_read_yaml(file), file, check_notebooks=check_notebooks)


def build_spec(doc: Any, file: Path, *, check_notebooks: bool = True) -> PipelineSpec:
    """Validate a pipeline given as a mapping (as read from ``file``); see :func:`load_spec`."""
    found = _Collector()
    if not isinstance(doc, dict):
        raise PipelineInvalid(
            file, ["the file must be a mapping with 'name:' and 'steps:' (see the README)"]
        )
    found.unknown_keys(doc, _TOP_KEYS, "the pipeline")
    name = _pipeline_name(doc, found)
    experiment = doc.get("experiment")
    if experiment is not None and not (isinstance(experiment, str) and experiment.strip()):
        found.add(_at(doc, "experiment"), "'experiment' must be a non-empty string")
        experiment = None
    preload = _preload(doc, found)
    steps = _steps(doc, file.parent, found)
    _check_needs(doc.get("steps"), steps, found)
    _check_cycles(steps, found)
    if check_notebooks:
        for step in steps.values():
            _check_notebook(doc.get("steps"), step, found)
    if found.problems:
        raise PipelineInvalid(file, found.problems)
    return PipelineSpec(name, file, steps, experiment, preload)


def _preload(doc: Any, found: _Collector) -> tuple[str, ...]:
    value = doc.get("preload", [])
    if isinstance(value, list) and all(
        isinstance(v, str) and v and all(p.isidentifier() for p in v.split(".")) for v in value
    ):
        return tuple(value)
    found.add(
        _at(doc, "preload"),
        "'preload' must be a list of module names, e.g. preload: [pandas, sklearn.ensemble]",
    )
    return ()


def _pipeline_name(doc: Any, found: _Collector) -> str:
    name = doc.get("name")
    if name is None:
        found.add(_at(doc, "name"), "missing 'name:' (the pipeline's name, e.g. name: churn)")
        return "pipeline"
    if not isinstance(name, str) or not _NAME.match(name):
        found.add(
            _at(doc, "name"),
            f"name {name!r} must be 1-64 letters, digits, '_', '.' or '-', e.g. name: churn",
        )
        return str(name)
    return name


def _steps(doc: Any, folder: Path, found: _Collector) -> dict[str, StepSpec]:
    raw = doc.get("steps")
    if not isinstance(raw, dict) or not raw:
        found.add(
            _at(doc, "steps"),
            "'steps:' must map step names to {notebook: ..., params: ..., needs: [...]}",
        )
        return {}
    found.unknown_keys(raw, set(map(str, raw)), "steps")  # reports duplicated step names
    steps: dict[str, StepSpec] = {}
    for key, body in raw.items():
        step = _step(str(key), body, raw, folder, found)
        if step is not None:
            steps[step.name] = step
    return steps


def _step(name: str, body: Any, parent: Any, folder: Path, found: _Collector) -> StepSpec | None:
    where = _at(parent, name)
    if not _NAME.match(name):
        found.add(where, f"step name {name!r} must be letters, digits, '_', '.' or '-'")
    if not isinstance(body, dict):
        found.add(where, f"step {name!r} must be a mapping with at least 'notebook:'")
        return None
    found.unknown_keys(body, _STEP_KEYS, f"step {name!r}")
    notebook = body.get("notebook")
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb"):
        found.add(
            _at(body, "notebook"),
            f"step {name!r} needs 'notebook:' naming a .ipynb file, e.g. notebook: train.ipynb",
        )
        notebook = f"{name}.ipynb"
    params = body.get("params") or {}
    if not isinstance(params, dict):
        found.add(_at(body, "params"), f"'params' of step {name!r} must be a mapping name: value")
        params = {}
    needs = _needs(name, body, found)
    sweep, search = _sweep(name, body, params, found)
    timeout = body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        found.add(_at(body, "timeout"), f"'timeout' of step {name!r} must be seconds, e.g. 600")
        timeout = None
    kernel = body.get("kernel")
    return StepSpec(
        name,
        (folder / notebook).resolve(),
        {str(k): v for k, v in params.items()},
        needs,
        sweep,
        str(kernel) if kernel else None,
        float(timeout) if timeout is not None else None,
        validate=_validate(name, body, found),
        search=search,
    )


def _validate(name: str, body: Any, found: _Collector) -> tuple[str, str] | None:
    """``validate: {snapshot: NAME, against: REF}``: the input checked before the step runs."""
    raw = body.get("validate")
    if raw is None:
        return None
    from ..data.refs import check_name, parse_ref

    try:
        if not isinstance(raw, dict) or set(map(str, raw)) != {"snapshot", "against"}:
            raise InvalidInput("needs exactly the keys 'snapshot' and 'against'")
        snapshot, against = raw["snapshot"], raw["against"]
        if not (isinstance(snapshot, str) and isinstance(against, str)):
            raise InvalidInput("'snapshot' and 'against' must be text")
        check_name(snapshot)
        parse_ref(against)
    except InvalidInput as exc:
        found.add(
            _at(body, "validate"),
            f"'validate' of step {name!r}: {exc}; the form is "
            "validate: {snapshot: NAME, against: REF}",
        )
        return None
    return snapshot, against


def _needs(name: str, body: Any, found: _Collector) -> tuple[str, ...]:
    needs = body.get("needs") or []
    if isinstance(needs, str):
        needs = [needs]
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        found.add(_at(body, "needs"), f"'needs' of step {name!r} must be a list of step names")
        return ()
    return tuple(dict.fromkeys(needs))


def _sweep(
    name: str, body: Any, params: dict[str, Any], found: _Collector
) -> tuple[str | None, SearchConfig | None]:
    """``(kind, search)``: ``grid``/``zip`` (no search), a search method and its config, or none."""
    from .search.validation import ranges_without_search, read_search

    sweep = body.get("sweep")
    if isinstance(sweep, dict):
        sweep, search = read_search(
            name,
            sweep,
            params,
            lambda t: found.add(_at(body, "sweep"), t),
            lambda t: found.add(_at(body, "params"), t),
        )
        if search is not None or sweep is None:
            return sweep, search
    ranges_without_search(name, params, lambda t: found.add(_at(body, "params"), t))
    if sweep is None or sweep is False:
        return None, None
    return _grid_sweep(name, body, sweep, params, found), None


def _grid_sweep(
    name: str, body: Any, sweep: Any, params: dict[str, Any], found: _Collector
) -> str | None:
    if sweep not in SWEEP_KINDS:
        found.add(
            _at(body, "sweep"),
            f"sweep {sweep!r} of step {name!r} is not known; use grid, zip, or a search "
            "such as sweep: {method: tpe, trials: 20, metric: accuracy}",
        )
        return None
    axes = {k: v for k, v in params.items() if isinstance(v, list)}
    if not axes:
        found.add(
            _at(body, "sweep"),
            f"step {name!r} has sweep: {sweep} but no list-valued params to sweep over, "
            "e.g. params: {lr: [0.01, 0.1]}",
        )
    elif any(len(v) == 0 for v in axes.values()):
        empty = ", ".join(k for k, v in axes.items() if not v)
        found.add(_at(body, "params"), f"step {name!r} sweeps over an empty list: {empty}")
    elif sweep == "zip" and len({len(v) for v in axes.values()}) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in axes.items())
        found.add(
            _at(body, "sweep"),
            f"sweep: zip of step {name!r} needs lists of equal length (got {sizes})",
        )
    return str(sweep)


def _check_needs(raw: Any, steps: dict[str, StepSpec], found: _Collector) -> None:
    for step in steps.values():
        body = raw.get(step.name) if isinstance(raw, dict) else None
        for need in step.needs:
            if need == step.name:
                found.add(_at(body, "needs"), f"step {step.name!r} needs itself")
            elif need not in steps:
                found.add(
                    _at(body, "needs"),
                    f"step {step.name!r} needs unknown step {need!r}; steps are: "
                    f"{', '.join(steps)}",
                )


def _check_cycles(steps: dict[str, StepSpec], found: _Collector) -> None:
    from .dag import find_cycles

    for cycle in find_cycles({s.name: [n for n in s.needs if n in steps] for s in steps.values()}):
        found.add("", f"cycle in needs: {' -> '.join(cycle)}; a step cannot depend on itself")


def _check_notebook(raw: Any, step: StepSpec, found: _Collector) -> None:
    from .search.space import is_dimension
    from .search.validation import notebook_samples
    from .sweep import expand

    body = raw.get(step.name) if isinstance(raw, dict) else None
    where = _at(body, "notebook")
    if not step.notebook.is_file():
        found.add(where, f"step {step.name!r}: notebook {str(step.notebook)!r} does not exist")
        return
    try:
        doc = load_notebook_json(step.notebook)
        searched = any(is_dimension(v) for v in step.params.values())
        members = notebook_samples(step.params) if searched else expand(step.params, step.sweep)
        for params in members[:1] if not (step.sweep or searched) else members:
            check_params(params, doc, step.notebook.name)
    except MlopsError as exc:
        found.add(_at(body, "params") if step.params else where, f"step {step.name!r}: {exc}")
