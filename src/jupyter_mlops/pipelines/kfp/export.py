"""``pipeline.yaml`` as a Kubeflow Pipelines v2 pipeline, compiled by the ``kfp`` SDK.

The graph: a ``start`` task (the parent run), then per step in order of needs a ``gate``
task when the step has ``validate:``, then a ``unit`` task (a plain step), a ``sweep`` task
and one ``unit`` task per member (a grid or zip sweep), or a ``study`` task (a searched
step: the driver asking Optuna and running the trials); a ``finish`` task after the last
steps. A task reads the outputs of the tasks of the steps it needs: those are its KFP
dependencies. What this export cannot carry is refused, one line each, before anything is
written (:func:`refusals`, also ``--check``).

Examples
--------
>>> export_kfp("pipeline.yaml", output="pipeline.kfp.yaml", image="mlops:1")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import load_settings
from ...errors import InvalidInput, MlopsError
from ..dag import topological_order
from ..scope import build_units
from ..spec import PipelineSpec, load_spec
from . import DEFAULT_IMAGE, FORMS

__all__ = [
    "DEFAULT_IMAGE",
    "FORMS",
    "ExportOptions",
    "KfpExport",
    "export_kfp",
    "refusals",
    "step_order",
]

#: stores a task in a cluster's pod reaches: not a file of this machine
_REMOTE = re.compile(r"^(https?|databricks|postgresql|mysql|mssql|s3|gs|gcs|abfss?|az|hdfs)[+:]")


class ExportRefused(InvalidInput):
    """The pipeline uses something the KFP export cannot carry; ``problems`` lists each."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{path.name}: cannot export to kfp, {count}:\n{lines}")


@dataclass(frozen=True)
class ExportOptions:
    """How the pipeline is exported; see ``jupyter mlops pipeline export --help``."""

    image: str = DEFAULT_IMAGE
    form: str = "container"
    tracking_uri: str | None = None
    data_uri: str | None = None
    #: where the project's root folder is inside the image (default: its path here)
    project_dir: str | None = None


@dataclass(frozen=True)
class KfpExport:
    """What an export made (or, with ``check``, would make)."""

    pipeline: str
    output: Path | None
    form: str
    image: str
    tasks: list[str]

    def summary(self) -> str:
        """One line: what was written, or that the check passed."""
        where = f"wrote {self.output}" if self.output else "check passed, nothing written"
        return (
            f"pipeline {self.pipeline} -> kfp ({self.form} form, image {self.image}): "
            f"{len(self.tasks)} tasks; {where}"
        )


def refusals(spec: PipelineSpec, options: ExportOptions) -> list[str]:
    """What the export cannot carry, one line each (empty: it can be exported)."""
    problems: list[str] = []
    if options.form not in FORMS:
        problems.append(f"form {options.form!r} is not known; forms: {', '.join(FORMS)}")
    if not options.image.strip() or any(c.isspace() for c in options.image):
        problems.append(f"image {options.image!r} is not an image name, e.g. --image mlops:1")
    settings = load_settings(spec.path.parent)
    root = settings.root.resolve()
    for step in spec.steps.values():
        if not step.notebook.resolve().is_relative_to(root):
            problems.append(
                f"step {step.name!r}: notebook {str(step.notebook)!r} is outside the project "
                f"folder {str(root)!r}, which is all the image holds; move it inside"
            )
    if options.form == "container":
        tracking = options.tracking_uri or settings.tracking_uri
        data = options.data_uri or settings.data_uri
        if not _REMOTE.match(tracking):
            problems.append(
                f"tracking store {tracking!r} is on this machine, out of a cluster's reach; "
                "give --tracking-uri http://HOST:5000 (or --form lightweight for kfp.local)"
            )
        if not _REMOTE.match(data):
            problems.append(
                f"snapshot store {data!r} is on this machine, out of a cluster's reach; "
                "give --data-uri s3://BUCKET/PREFIX (or --form lightweight for kfp.local)"
            )
    return problems


def export_kfp(
    path: str | os.PathLike[str] = "pipeline.yaml",
    *,
    output: str | os.PathLike[str] | None = None,
    options: ExportOptions | None = None,
    check: bool = False,
) -> KfpExport:
    """Compile ``pipeline.yaml`` into a KFP v2 pipeline file; with ``check``, only validate.

    Raises
    ------
    PipelineInvalid, ExportRefused
        The file is invalid, or uses what the export cannot carry (nothing is written).
    """
    options = options or ExportOptions()
    spec = load_spec(path)
    problems = refusals(spec, options)
    if problems:
        raise ExportRefused(spec.path, problems)
    tasks = task_names(spec)
    if check:
        return KfpExport(spec.name, None, options.form, options.image, tasks)
    target = Path(output) if output else spec.path.with_name(f"{spec.path.stem}.kfp.yaml")
    if target.resolve() == spec.path:
        raise InvalidInput(f"-o {str(target)!r} is the pipeline file itself; give another path")
    compiler, func = _build(spec, options)
    partial = target.with_name(f".{target.stem}.partial{target.suffix or '.yaml'}")
    try:
        compiler.Compiler().compile(func, package_path=str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return KfpExport(spec.name, target, options.form, options.image, tasks)


def task_names(spec: PipelineSpec) -> list[str]:
    """The display names of the tasks, in the order they are added."""
    names = ["start"]
    units = build_units(spec)
    for name in step_order(spec):
        step = spec.steps[name]
        if step.validate is not None:
            names.append(f"{name}: validate")
        if step.search is not None:
            names.append(f"{name}: study")
        elif step.sweep:
            names += [f"{name}: sweep", *(u.label for u in units[name])]
        else:
            names.append(name)
    return [*names, "finish", "close"]


def step_order(spec: PipelineSpec) -> list[str]:
    """The steps, each after the steps it needs."""
    return topological_order({s.name: s.needs for s in spec.steps.values()})


def _import_kfp() -> Any:
    try:
        from kfp import compiler, dsl
    except ImportError:
        raise MlopsError(
            "the KFP export needs the kfp SDK: pip install 'jupyter-mlops[kfp]' "
            "(docs/kfp.md; --check works without it)"
        ) from None
    return compiler, dsl


def _build(spec: PipelineSpec, options: ExportOptions) -> tuple[Any, Any]:
    """The ``kfp`` compiler and the pipeline function of ``spec``."""
    compiler, dsl = _import_kfp()
    from . import component

    make = component.container_component if options.form == "container" else None
    task = (make or component.lightweight_component)(options.image)
    settings = load_settings(spec.path.parent)
    where = str(Path(options.project_dir or settings.root) / spec.path.relative_to(settings.root))
    env = {"MLFLOW_TRACKING_URI": options.tracking_uri, "MLOPS_DATA_URI": options.data_uri}
    units = build_units(spec)

    def made(label: str, kind: str, upstream: list[Any], step: str = "", unit: int = 0) -> Any:
        one = task(
            pipeline=where, kind=kind, step=step, unit=unit, upstream=upstream,
            job=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        )  # fmt: skip
        one.set_display_name(label)
        one.set_caching_options(False)  # the key is the task's own (see docs/kfp.md)
        for name, value in env.items():
            if value:
                one.set_env_variable(name, value)
        return one

    def add(label: str, kind: str, upstream: list[Any], step: str = "", unit: int = 0) -> Any:
        return made(label, kind, upstream, step, unit).outputs["state"]

    def pipeline() -> None:
        # KFP's exit handler runs however the tasks inside end, and ends what they left open;
        # it may depend on no task, so it finds the parent run by the KFP run's id
        with dsl.ExitHandler(made("close", "close", [])):
            _tasks(add("start", "start", []))

    def _tasks(start: Any) -> None:
        outputs: dict[str, list[Any]] = {}
        for name in step_order(spec):
            step = spec.steps[name]
            upstream = [o for need in step.needs for o in outputs[need]] or [start]
            if step.validate is not None:
                upstream = [add(f"{name}: validate", "gate", upstream, name)]
            if step.search is not None:
                outputs[name] = [add(f"{name}: study", "study", upstream, name)]
            elif step.sweep:
                opened = add(f"{name}: sweep", "sweep", upstream, name)
                outputs[name] = [add(u.label, "unit", [opened], name, u.index) for u in units[name]]
            else:
                outputs[name] = [add(name, "unit", upstream, name)]
        needed = {need for s in spec.steps.values() for need in s.needs}
        last = [o for name in step_order(spec) if name not in needed for o in outputs[name]]
        add("finish", "finish", last)

    pipeline.__annotations__ = {}  # KFP reads them as types; postponed here, they are text
    pipeline.__name__ = re.sub(r"\W", "_", spec.name)
    pipeline.__doc__ = f"jupyter-mlops pipeline {spec.name} ({spec.path.name}), exported to KFP."
    return compiler, dsl.pipeline(name=_kfp_name(spec.name))(pipeline)


def _kfp_name(name: str) -> str:
    """A KFP pipeline name: lower-case letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-") or "pipeline"
