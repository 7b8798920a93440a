"""Running a pipeline: units scheduled over the DAG, cache, failure isolation, resume.

A step becomes ready when every unit of every step it needs is final. Then
its units get their cache keys, the snapshot pins and upstream run ids their
notebooks will see, and each is either reused (cache hit, or finished in the
run being resumed) or queued for the executor. A failed unit never stops
its siblings; steps needing a step with a failed or skipped unit are skipped.
Everything that reaches MLflow happens on the calling thread, in order.
"""

from __future__ import annotations

import json
import os
import queue
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import PINNED_SNAPSHOTS_ENV as PINNED_ENV
from ..config import PRELOAD_ENV, Settings
from .cache import CachedRun, code_digest, find_hit, package_digest, snapshots_of, step_key
from .executors import Executor, UnitOutcome, UnitTask, open_executor
from .feed import Feed
from .input_checks import check_inputs
from .runs import (
    end_parent,
    end_step_runs,
    previous_results,
    start_parent,
    start_step_run,
    unit_hash,
    unit_tags,
)
from .scope import build_units, select_scope
from .units import PipelineListener, PipelineResult, Unit
from .upstream import UPSTREAM_ENV

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from ..tracking.writing.owned_run import RunWriter
    from .search.driver import StudyFeed
    from .spec import PipelineSpec

__all__ = [
    "UPSTREAM_ENV",
    "Options",
    "ReadyInputs",
    "RunContext",
    "blocked_by",
    "build_units",
    "gate",
    "ready_inputs",
    "resolve_step",
    "reusable",
    "run_spec",
    "schedule",
    "select_scope",
    "unit_key",
]

PIPELINE_RUN_ENV = "MLOPS_PIPELINE_RUN_ID"
_POLL_S = 0.2


@dataclass(frozen=True)
class Options:
    """How to run: parallelism, executor, selection, cache."""

    jobs: int | None = None
    executor: str = "local"
    only: tuple[str, ...] = ()
    from_step: str | None = None
    force: bool = False
    resume: bool = False
    #: extra environment of every step's kernel (e.g. the event that started a schedule)
    env: tuple[tuple[str, str], ...] = ()


@dataclass
class ReadyInputs:
    """What a ready step's units share."""

    pins: dict[str, str]
    upstream_keys: dict[str, list[str]]
    upstream_runs: dict[str, list[str]]
    code: str


@dataclass
class RunContext:
    spec: PipelineSpec
    settings: Settings
    #: MLflow's client, opened only if used (a cached plan reads an embedded store directly)
    client: MlflowClient
    #: creates, tags and ends the pipeline's own runs
    writer: RunWriter
    experiment_id: str
    parent: str
    options: Options
    scope: set[str]
    units: dict[str, list[Unit]]
    listener: PipelineListener
    packages: str = field(default_factory=package_digest)
    previous: dict[str, tuple[str, CachedRun]] = field(default_factory=dict)
    pins: dict[str, dict[str, str]] = field(default_factory=dict)
    step_runs: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, StudyFeed] = field(default_factory=dict)
    progress: queue.Queue[tuple[str, str]] = field(default_factory=queue.Queue)
    #: steps whose ``validate:`` gate already ran elsewhere: step -> refusal, or None (passed)
    checked: dict[str, str | None] = field(default_factory=dict)

    def all_units(self) -> list[Unit]:
        return [u for units in self.units.values() for u in units]


def run_spec(
    spec: PipelineSpec,
    settings: Settings,
    options: Options,
    listener: PipelineListener | None = None,
) -> PipelineResult:
    """Run a validated pipeline; see :func:`~.pipeline_api.run_pipeline`."""
    from ..tracking.mlflow_bridge.store import lazy_client
    from ..tracking.mlflow_tables.run_writes import experiment_for, open_run_writer

    scope = select_scope(spec, options.only, options.from_step)
    if any(spec.steps[name].search is not None for name in scope):
        # a searched step needs Optuna: refuse before any run, study or kernel exists
        from .search.engine import import_optuna

        import_optuna()
    executor = open_executor(options.executor, options.jobs)
    try:
        experiment_id = experiment_for(settings, spec.experiment_name)
        client, writer = lazy_client(settings), open_run_writer(settings)
        previous_id, previous = (
            previous_results(client, experiment_id, spec.name) if options.resume else (None, {})
        )
        extra = {"mlops.pipeline.executor": options.executor}
        if previous_id:
            extra["mlops.pipeline.resumed_from"] = previous_id
        parent = start_parent(writer, experiment_id, spec, settings.root, extra)
        state = RunContext(
            spec,
            settings,
            client,
            writer,
            experiment_id,
            parent,
            options,
            scope,
            build_units(spec),
            listener or PipelineListener(),
            previous=previous,
        )
        return _drive(state, executor)
    finally:
        executor.close()


def _drive(state: RunContext, executor: Executor) -> PipelineResult:
    started = time.monotonic()
    result = PipelineResult(
        state.spec.name,
        state.parent,
        state.experiment_id,
        state.all_units(),
        executor=state.options.executor,
    )
    state.listener.started(result.units, state.parent)
    status = "FAILED"
    try:
        schedule(state, executor)
        status = "FINISHED" if result.ok else "FAILED"
    except BaseException:
        executor.cancel_all()
        status = "KILLED"
        for unit in result.units:
            if not unit.done:
                unit.status, unit.message = "failed", "interrupted"
        raise
    finally:
        result.duration_s = time.monotonic() - started
        end_step_runs(state.client, state.writer, state.step_runs, state.units, state.feeds)
        end_parent(state.writer, result, status)
        state.listener.finished(result)
    return result


def schedule(state: RunContext, executor: Executor, steps: list[str] | None = None) -> None:
    """Resolve and run ``steps`` (default: every step), their needs being final or among them."""
    pending = list(state.units) if steps is None else list(steps)  # in topological order
    feeds: list[Feed] = []
    inflight: dict[Future[UnitOutcome], tuple[Unit, Feed]] = {}
    while pending or any(f.has_more for f in feeds) or inflight:
        for step in [s for s in pending if _needs_final(state, s)]:
            pending.remove(step)
            feeds.append(resolve_step(state, step))
        _start_units(state, executor, feeds, inflight)
        if not inflight:
            stuck = pending and not any(_needs_final(state, s) for s in pending)
            if stuck and not any(f.has_more for f in feeds):
                raise RuntimeError(f"pipeline stalled with {pending}")  # pragma: no cover
            continue
        done, _ = wait(list(inflight), timeout=_POLL_S, return_when=FIRST_COMPLETED)
        _drain_progress(state)
        for feed in feeds:
            feed.watch(executor)
        for future in done:
            unit, feed = inflight.pop(future)
            _finish(state, unit, future.result(), feed)


def _start_units(
    state: RunContext,
    executor: Executor,
    feeds: list[Feed],
    inflight: dict[Future[UnitOutcome], tuple[Unit, Feed]],
) -> None:
    """Fill the free slots, asking each feed in turn (a study samples only now)."""
    for feed in feeds:
        while len(inflight) < executor.slots:
            item = feed.next_task()
            if item is None:
                break
            unit, task = item
            _set(state, unit, "running")
            inflight[executor.submit(task, _progress_sink(state))] = (unit, feed)


def _needs_final(state: RunContext, step: str) -> bool:
    return all(u.done for need in state.spec.steps[step].needs for u in state.units[need])


def _set(state: RunContext, unit: Unit, status: str, message: str | None = None) -> None:
    unit.status = status
    if message is not None:
        unit.message = message
    if status == "running":
        unit.started = time.monotonic()
    state.listener.update(unit)


def _progress_sink(state: RunContext) -> Any:
    def sink(unit_id: str, text: str) -> None:
        state.progress.put((unit_id, text))

    return sink


def _drain_progress(state: RunContext) -> None:
    latest: dict[str, str] = {}
    while True:
        try:
            unit_id, text = state.progress.get_nowait()
        except queue.Empty:
            break
        latest[unit_id] = text
    by_id = {u.id: u for u in state.all_units()}
    for unit_id, text in latest.items():
        unit = by_id.get(unit_id)
        if unit is not None and unit.status == "running":
            unit.detail = text
            state.listener.update(unit)


def blocked_by(state: RunContext, step: str) -> str | None:
    """Why ``step`` cannot run: a step it needs failed or was skipped; None when it can."""
    for need in state.spec.steps[step].needs:
        bad = [u for u in state.units[need] if u.status in ("failed", "skipped")]
        if state.spec.steps[need].search and any(
            u.status in ("ran", "cached") for u in state.units[need]
        ):
            continue  # a study with a finished trial has a best one, whatever else failed
        if bad:
            what = "failed" if any(u.status == "failed" for u in bad) else "was skipped"
            total = len(state.units[need])
            count = f" ({len(bad)} of {total} units)" if total > 1 else ""
            return f"needs {need!r}, which {what}{count}"
    return None


def resolve_step(state: RunContext, step: str) -> Feed:
    """Decide for each unit of a ready step: skipped, reused, or to run."""
    blocked = blocked_by(state, step)
    if blocked:
        for unit in state.units[step]:
            _set(state, unit, "skipped", blocked)
        return Feed([])
    ready = ready_inputs(state, step)
    refused = gate(state, step, ready)
    if refused:
        for unit in state.units[step]:
            _set(state, unit, "failed", refused)
        return Feed([])
    if state.spec.steps[step].search:
        return _study_feed(state, step, ready)
    to_run: list[tuple[Unit, UnitTask]] = []
    for unit in state.units[step]:
        unit.key = unit_key(state, unit, ready)
        reused = reusable(state, unit, ready)
        if reused is not None:
            unit.run_id, unit.produced, unit.loaded = reused.run_id, reused.produced, reused.loaded
            _set(state, unit, "cached")
        elif step not in state.scope:
            _set(state, unit, "failed", _not_in_scope(state))
        else:
            _set(state, unit, "queued")
            to_run.append((unit, _task(state, unit, ready)))
    return Feed(to_run)


def gate(state: RunContext, step: str, ready: ReadyInputs) -> str | None:
    """The ``validate:`` check of ``step``'s input (done once): why it must not run, or None."""
    if step not in state.checked:
        spec_step = state.spec.steps[step]
        state.checked[step] = check_inputs(spec_step, ready.pins, state.settings.data_uri)
    return state.checked[step]


def study_key(state: RunContext, step: str, ready: ReadyInputs) -> str:
    """Key of a searched step's study: all a trial depends on but its sampled values and budget."""
    spec_step = state.spec.steps[step]
    if spec_step.search is None:
        raise ValueError(f"step {step!r} is not a search")
    return _key(
        state, step, {"params": spec_step.params, "sweep": spec_step.search.identity()}, ready
    )


def _study_feed(state: RunContext, step: str, ready: ReadyInputs) -> Feed:
    from .search.driver import StudyFeed
    from .search.study import open_study

    spec_step = state.spec.steps[step]
    if spec_step.search is None:
        raise ValueError(f"step {step!r} is not a search")
    in_scope = step in state.scope
    fresh = in_scope and state.options.force
    key = study_key(state, step, ready)

    def make_task(unit: Unit) -> UnitTask:
        unit.key = unit_key(state, unit, ready)
        return _task(state, unit, ready)

    feed = StudyFeed(
        spec_step,
        state.units[step],
        open_study(state.settings, key, spec_step.search, fresh=fresh),
        state.client,
        state.experiment_id,
        make_task,
        lambda unit, status, message: _set(state, unit, status, message),
    )
    if not in_scope:
        feed.skip_all(_not_in_scope(state))
    elif feed.has_more:
        from .search.report import warm_importances

        warm_importances()
    state.feeds[step] = feed
    return feed


def unit_key(state: RunContext, unit: Unit, ready: ReadyInputs) -> str:
    return _key(state, unit.step, unit.params, ready)


def _key(state: RunContext, step: str, what: Any, ready: ReadyInputs) -> str:
    spec_step = state.spec.steps[step]
    return step_key(
        ready.code,
        what,
        kernel=spec_step.kernel or _kernel_of(spec_step.notebook),
        pins=ready.pins,
        upstream=ready.upstream_keys,
        packages=state.packages,
    )


def reusable(state: RunContext, unit: Unit, ready: ReadyInputs) -> CachedRun | None:
    in_scope = unit.step in state.scope
    previous = state.previous.get(unit_hash(unit))
    if previous is not None and in_scope:
        key, run = previous
        unit.key, unit.message = key, "resumed: finished in the previous run"
        return run
    if in_scope and state.options.force:
        return None
    if unit.key is None:
        raise ValueError(f"unit {unit.label} has no cache key yet")
    hit = find_hit(state.client, state.experiment_id, unit.key, ready.pins, state.settings)
    if hit is not None:
        unit.message = "cache hit"
    return hit


def _not_in_scope(state: RunContext) -> str:
    flag = "--only" if state.options.only else "--from"
    return f"not selected by {flag} and no cached result; include this step or run without {flag}"


def ready_inputs(state: RunContext, step: str) -> ReadyInputs:
    spec_step = state.spec.steps[step]
    pins: dict[str, str] = {}
    ambiguous: set[str] = set()
    for need in spec_step.needs:
        pins.update(state.pins.get(need, {}))
        made: dict[str, set[str]] = {}
        for unit in state.units[need]:
            for name, digest in unit.produced.items():
                made.setdefault(name, set()).add(digest)
        for name, digests in made.items():
            if len(digests) == 1:
                pins[name] = next(iter(digests))
            else:
                ambiguous.add(name)
    for name in ambiguous:
        pins.pop(name, None)  # sweep members disagree: the step picks through mlops.upstream()
    state.pins[step] = pins
    graph = {s.name: s.needs for s in state.spec.steps.values()}
    from .dag import ancestors

    upstream_runs = {
        a: [u.run_id for u in state.units[a] if u.run_id]
        for a in state.units
        if a in ancestors(graph, [step])
    }
    # What upstream units actually read and wrote counts, not only their keys: an upstream
    # step re-run because its input snapshot changed makes its downstream run too.
    keys = {n: [u.result_key for u in state.units[n]] for n in spec_step.needs}
    return ReadyInputs(pins, keys, upstream_runs, code_digest(spec_step.notebook))


def _kernel_of(notebook: Any) -> str:
    from ..headless.parameters import load_notebook_json

    spec = load_notebook_json(notebook).get("metadata", {}).get("kernelspec", {}) or {}
    return str(spec.get("name", ""))


def _task(state: RunContext, unit: Unit, ready: ReadyInputs) -> UnitTask:
    spec_step = state.spec.steps[unit.step]
    parent = state.parent
    if spec_step.sweep:
        parent = state.step_runs.get(unit.step) or _open_step_run(state, unit.step)
    env = {
        UPSTREAM_ENV: json.dumps(ready.upstream_runs),
        PIPELINE_RUN_ENV: state.parent,
        "MLOPS_PIPELINE_STEP": unit.step,
    }
    if ready.pins:
        env[PINNED_ENV] = json.dumps(ready.pins)
    env.update(state.options.env)
    if state.spec.preload:
        given = env.get(PRELOAD_ENV, os.environ.get(PRELOAD_ENV, "")).split(",")
        env[PRELOAD_ENV] = ",".join(dict.fromkeys(n for n in [*given, *state.spec.preload] if n))
    if unit.key is None:
        raise ValueError(f"unit {unit.label} has no cache key yet")
    return UnitTask(
        unit.id,
        str(spec_step.notebook),
        unit.params,
        state.spec.experiment_name,
        unit.label,
        parent,
        state.settings,
        unit_tags(state.spec, state.parent, unit, unit.key),
        env,
        spec_step.kernel,
        spec_step.timeout,
    )


def _open_step_run(state: RunContext, step: str) -> str:
    run_id = start_step_run(
        state.writer, state.experiment_id, state.spec, state.parent, step, len(state.units[step])
    )
    state.step_runs[step] = run_id
    return run_id


def _finish(state: RunContext, unit: Unit, outcome: UnitOutcome, feed: Feed) -> None:
    unit.run_id = outcome.run_id
    unit.duration_s = outcome.duration_s
    unit.detail = ""
    status, message = "failed", outcome.message or outcome.status
    if outcome.ok and outcome.run_id:
        from ..tracking.mlflow_bridge.store import mlflow_errors

        with mlflow_errors(f"read run {outcome.run_id}"):
            run = state.client.get_run(outcome.run_id)
        unit.produced, unit.loaded = snapshots_of(run)
        unit.metrics = dict(run.data.metrics)
        status, message = "ran", ""
    _set(state, unit, *feed.settle(unit, outcome, status, message))
