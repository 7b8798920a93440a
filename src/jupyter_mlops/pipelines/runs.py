"""The MLflow side of a pipeline run: the parent run, per-sweep step runs, tags, resume.

A pipeline run is a parent run tagged ``mlops.pipeline.role = parent``; a plain
step's execution is nested directly under it; a sweep gets a step run nested
under the parent, with each member nested under that. ``pipeline.json`` on the
parent lists every unit with its status and the run holding its result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError, StoreError
from ..tracking.mlflow_bridge.store import mlflow_errors
from ..tracking.writing.run_context import context_tags
from ..tracking.writing.tracker import HEARTBEAT_TAG
from .cache import CACHE_TAG, CachedRun, snapshots_of

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from ..tracking.writing.owned_run import RunWriter
    from .search.driver import StudyFeed
    from .spec import PipelineSpec
    from .units import PipelineResult, Unit

__all__ = [
    "NAME_TAG",
    "PARENT_TAG",
    "REUSED_TAG",
    "ROLE_TAG",
    "STEP_TAG",
    "UNIT_TAG",
    "end_parent",
    "end_step_runs",
    "previous_results",
    "start_parent",
    "unit_tags",
]

log = logging.getLogger("jupyter_mlops")

NAME_TAG = "mlops.pipeline"
PARENT_TAG = "mlops.pipeline.run_id"
ROLE_TAG = "mlops.pipeline.role"
STEP_TAG = "mlops.pipeline.step"
UNIT_TAG = "mlops.pipeline.unit"
#: on the parent: JSON ``{unit label: run id}`` of the cached results it reused
REUSED_TAG = "mlops.pipeline.reused"
MANIFEST = "pipeline.json"
#: MLflow's longest tag value
_TAG_MAX = 8000


def unit_hash(unit: Unit) -> str:
    """Short stable id of a unit's step and parameters."""
    return hashlib.sha1(unit.identity.encode()).hexdigest()[:16]


def unit_tags(spec: PipelineSpec, parent_run_id: str, unit: Unit, key: str) -> dict[str, str]:
    """Tags of a unit's run: which pipeline, run, step and unit; its cache key."""
    return {
        NAME_TAG: spec.name,
        PARENT_TAG: parent_run_id,
        ROLE_TAG: "unit",
        STEP_TAG: unit.step,
        UNIT_TAG: unit_hash(unit),
        "mlops.pipeline.label": unit.label,
        CACHE_TAG: key,
    }


def start_parent(
    writer: RunWriter, experiment_id: str, spec: PipelineSpec, root: Any, extra: dict[str, str]
) -> str:
    """Create the parent run and log ``pipeline.yaml`` on it; return its id."""
    tags = context_tags(
        root,
        None,
        {
            NAME_TAG: spec.name,
            ROLE_TAG: "parent",
            "mlops.pipeline.file": str(spec.path),
            HEARTBEAT_TAG: str(int(time.time())),
            "mlflow.source.name": str(spec.path),
            **extra,
        },
    )
    with mlflow_errors(f"start pipeline run {spec.name}"):
        run = writer.create_run(experiment_id, spec.name, tags, {})
        writer.log_artifact(run.run_id, str(spec.path))
    return run.run_id


def start_step_run(
    writer: RunWriter, experiment_id: str, spec: PipelineSpec, parent: str, step: str, n: int
) -> str:
    """Create the run grouping the members of a sweep step."""
    tags = {
        NAME_TAG: spec.name,
        PARENT_TAG: parent,
        ROLE_TAG: "step",
        STEP_TAG: step,
        "mlops.pipeline.members": str(n),
        "mlflow.parentRunId": parent,
        HEARTBEAT_TAG: str(int(time.time())),
    }
    with mlflow_errors(f"start the run of step {step}"):
        return writer.create_run(experiment_id, step, tags, {}).run_id


def end_run(writer: RunWriter, run_id: str, status: str, tags: dict[str, str]) -> None:
    """Tag and end a parent or step run; the run is ended even when its tags cannot be written.

    Raises
    ------
    StoreError
        When the run could not be ended (it stays RUNNING): the message says why.
    """
    try:
        with mlflow_errors(f"tag run {run_id}"):
            writer.set_tags(run_id, tags)
    finally:
        with mlflow_errors(f"end run {run_id} {status}; it stays RUNNING"):
            writer.set_terminated(run_id, status)


def end_step_runs(
    client: MlflowClient,
    writer: RunWriter,
    step_runs: dict[str, str],
    units: dict[str, list[Unit]],
    studies: dict[str, StudyFeed],
) -> None:
    """End each sweep's step run with its counts; a searched step's also records its study."""
    for step, run_id in step_runs.items():
        done = units[step]
        counts = {
            s: sum(u.status == s for u in done) for s in ("ran", "cached", "failed", "pruned")
        }
        ok = all(u.status in ("ran", "cached") for u in done)
        tags = {f"mlops.pipeline.{k}": str(v) for k, v in counts.items()}
        if step in studies:
            from .search.report import record_study

            try:
                ok = record_study(client, run_id, studies[step])
            except Exception:  # the study stays in studies.db; the parent run must still end
                ok = False
        try:
            end_run(writer, run_id, "FINISHED" if ok else "FAILED", tags)
        except MlopsError as exc:  # the other runs still get ended; this one is reported
            log.warning("jupyter-mlops: the run of step %r: %s", step, exc)


def end_parent(writer: RunWriter, result: PipelineResult, status: str) -> None:
    """Log ``pipeline.json`` and the counts on the parent run, then end it."""
    doc = json.dumps(result.to_dict(), indent=2, default=str)
    tags = {f"mlops.pipeline.{k}": str(v) for k, v in result.counts.items()}
    tags["mlops.duration_s"] = f"{result.duration_s:.3f}"
    tags.update(_reused_tags(result))
    with mlflow_errors(f"record pipeline run {result.parent_run_id}"):
        try:
            writer.log_text(result.parent_run_id, doc, MANIFEST)
        finally:
            end_run(writer, result.parent_run_id, status, tags)


def _reused_tags(result: PipelineResult) -> dict[str, str]:
    """Link the parent to the runs its cached units reused (else a cached run has no children).

    ``mlops.pipeline.reused`` holds ``{label: run id}``; the run's MLflow description
    (``mlflow.note.content``) lists them as links for MLflow's UI. Both stay within a tag's
    length: past it they name how many more ``pipeline.json`` lists.
    """
    reused = {u.label: u.run_id for u in result.units if u.status == "cached" and u.run_id}
    if not reused:
        return {}
    kept: dict[str, str] = {}
    lines = [f"Reused {len(reused)} cached result(s) of earlier runs:"]
    for label, run_id in reused.items():
        line = f"- [{label}](#/experiments/{result.experiment_id}/runs/{run_id})"
        grown = {**kept, label: run_id}
        if len(json.dumps(grown)) > _TAG_MAX - 40 or len("\n".join([*lines, line])) > _TAG_MAX - 80:
            lines.append(f"- … {len(reused) - len(kept)} more in {MANIFEST}")
            break
        kept, lines = grown, [*lines, line]
    return {REUSED_TAG: json.dumps(kept), "mlflow.note.content": "\n".join(lines)}


def previous_results(
    client: MlflowClient, experiment_id: str, name: str
) -> tuple[str | None, dict[str, tuple[str, CachedRun]]]:
    """The latest run of pipeline ``name``: its id and, per unit hash, ``(key, finished run)``."""
    with mlflow_errors("find the previous pipeline run"):
        parents = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{NAME_TAG}` = '{name}' and tags.`{ROLE_TAG}` = 'parent'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not parents:
            return None, {}
        parent = parents[0].info.run_id
        run_ids = set(_manifest_runs(client, parent))
        children = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{parent}' and attributes.status = 'FINISHED'",
            max_results=5000,
        )
        runs = {r.info.run_id: r for r in children}
        missing = sorted(run_ids - set(runs))
        for start in range(0, len(missing), 100):
            batch = ", ".join(f"'{r}'" for r in missing[start : start + 100])
            for r in client.search_runs(
                [experiment_id],
                filter_string=f"attributes.run_id IN ({batch}) and attributes.status = 'FINISHED'",
                max_results=100,
            ):
                runs[r.info.run_id] = r
    found: dict[str, tuple[str, CachedRun]] = {}
    for run in runs.values():
        tags = run.data.tags
        if UNIT_TAG in tags and CACHE_TAG in tags:
            produced, loaded = snapshots_of(run)
            found[tags[UNIT_TAG]] = (tags[CACHE_TAG], CachedRun(run.info.run_id, produced, loaded))
    return parent, found


def _manifest_runs(client: MlflowClient, parent: str) -> list[str]:
    """Run ids the previous run's ``pipeline.json`` names as finished (ran or cached).

    A run that crashed before writing it has none: its children still count. One that
    has it but cannot be read is an error, not an empty list: resuming would silently
    run again every step it had taken from the cache.
    """
    from ..tracking.reading.artifact_copy import read_artifact_text

    with mlflow_errors(f"list the artifacts of pipeline run {parent}"):
        names = {f.path for f in client.list_artifacts(parent)}
    if MANIFEST not in names:
        return []
    try:
        doc = json.loads(read_artifact_text(client, parent, MANIFEST))
        units = doc["units"]
        return [
            u["run_id"] for u in units if u.get("status") in ("ran", "cached") and u.get("run_id")
        ]
    except MlopsError as exc:
        why = str(exc)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        why = f"it is not a pipeline manifest ({type(exc).__name__}: {exc})"
    raise StoreError(
        f"cannot resume: {MANIFEST} of the previous pipeline run {parent} cannot be read: {why}; "
        "run again without --resume (steps still come from the cache) once that is fixed"
    )
