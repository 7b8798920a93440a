"""What each task of an exported pipeline does: the local executor's steps, one task at a time.

``start`` creates the parent run; ``gate`` checks a step's ``validate:`` input; ``sweep``
resolves a grid step's members (cache hits, skips) and opens its step run when one must run;
``unit`` runs one step or sweep member in a fresh kernel (or returns at once with the run its
cache key finds); ``study`` drives a searched step's Optuna study, its trials in kernels of
its own container; ``finish`` ends the step runs and the parent with ``pipeline.json``;
``close``, KFP's exit handler, runs however the others ended and ends what they left open
(a gate refused its input, a task failed, the run was stopped, a pod was killed before
``finish``), from the states every task also leaves on the parent run (:data:`STATES`).
Every decision is the orchestrator's own (:mod:`..orchestrator`), made on the state the
upstream tasks passed on, so the run tree, tags and cache keys are those of a local run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...config import load_settings
from ...errors import InvalidInput, MlopsError
from ..executors import open_executor
from ..orchestrator import (
    Options,
    RunContext,
    blocked_by,
    gate,
    ready_inputs,
    resolve_step,
    schedule,
)
from ..runs import end_parent, end_step_runs, start_parent
from ..scope import build_units
from ..spec import PipelineSpec, load_spec
from ..units import PipelineListener, PipelineResult
from . import KINDS
from .export import step_order
from .state import RunState, decode, encode, merge

__all__ = ["EXECUTOR", "KINDS", "STATES", "GateRefused", "run_task"]

#: the value of ``mlops.pipeline.executor`` on a parent run started in KFP
EXECUTOR = "kfp"
#: the parent run's artifact folder where each task leaves the state it passed on: the
#: ``close`` task, which may depend on no task, reads the run from there
STATES = "kfp-tasks"


class GateRefused(MlopsError):
    """A ``validate:`` gate refused its step's input: the gate's task fails, KFP stops after it."""


def run_task(
    pipeline: str | os.PathLike[str],
    kind: str,
    upstream: Sequence[str] = (),
    *,
    step: str | None = None,
    unit: int | None = None,
    job: str = "",
) -> str:
    """Do task ``kind`` of the exported ``pipeline``; return the state the next tasks read.

    Parameters
    ----------
    pipeline : path-like
        The ``pipeline.yaml`` inside the task's container.
    kind : str
        One of :data:`KINDS`.
    upstream : list of str
        The outputs of the tasks this one depends on.
    step, unit : str, int
        The step (all kinds but ``start``, ``finish`` and ``close``) and the member (``unit``).
    job : str
        The KFP run's id: ``start`` tags the parent run with it, ``close`` finds it by it.

    Raises
    ------
    GateRefused
        ``gate`` when the step's input is refused: the task fails, so KFP runs none of the
        tasks after it, and ``close`` ends the pipeline run as the local executor would.
    MlopsError
        ``finish`` when a unit failed or was skipped (the KFP run fails with that line).
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown task kind {kind!r}; kinds: {', '.join(KINDS)}")
    spec = load_spec(pipeline)
    if kind == "start":
        started = _start(spec, job)
        _leave(spec, started, "start")
        return encode(started)
    if kind == "close":
        _close(spec, job)
        return encode(RunState())
    state = merge(decode(text) for text in upstream)
    if not state.parent:
        raise InvalidInput("a task after 'start' needs the state of the tasks before it")
    if kind == "finish":
        _finish(spec, state)
        return encode(state)
    if step not in spec.steps:
        raise InvalidInput(f"no step {step!r} in {spec.path.name}; steps: {', '.join(spec.steps)}")
    context = _context(spec, state)
    refused = None
    with _heartbeat(context, state):
        if kind == "gate":
            refused = _gate(context, step)
        elif kind == "sweep":
            resolve_step(context, step)  # opens the step run when a member must run
        elif kind == "unit":
            _run_unit(context, step, unit or 0)
        else:
            _run_study(context, step)
            state.ended.append(step)
    out = _kept(state, context)
    _leave(spec, out, f"{kind}-{step}" + (f"-{unit or 0}" if kind == "unit" else ""))
    if refused:
        raise GateRefused(
            f"step {step!r}: {_first_line(refused)}; KFP runs no task after this gate "
            "(the close task ends the pipeline run)"
        )
    return encode(out)


def _gate(context: RunContext, step: str) -> str | None:
    """Check ``step``'s input; when refused, its units fail as the local executor fails them."""
    if blocked_by(context, step) is not None:
        return None  # a step it needs failed: the step's own tasks record it skipped
    refused = gate(context, step, ready_inputs(context, step))
    if refused:
        for unit in context.units[step]:
            unit.status, unit.message = "failed", refused
    return refused


def _leave(spec: PipelineSpec, state: RunState, name: str) -> None:
    """Keep ``state`` on the parent run as ``STATES/name``, where ``close`` finds it."""
    from ...tracking.mlflow_bridge.store import mlflow_errors
    from ...tracking.mlflow_tables.run_writes import open_run_writer

    writer = open_run_writer(load_settings(spec.path.parent))
    with mlflow_errors(f"keep the state of task {name} on run {state.parent}"):
        writer.log_text(state.parent, encode(state), f"{STATES}/{name}.state")


@contextmanager
def _heartbeat(context: RunContext, state: RunState) -> Iterator[None]:
    """Keep the parent's and the open step runs' heartbeats fresh while this task works.

    No process lives as long as a KFP run: the heartbeat is what tells the reaping of
    runs of dead processes that the pipeline is still going.
    """
    from ...tracking.writing.tracker import HEARTBEAT_EVERY_S, HEARTBEAT_TAG

    stop = threading.Event()

    def beat() -> None:
        while True:
            steps = context.step_runs.items()
            runs = [state.parent, *(r for s, r in steps if s not in state.ended)]
            try:
                for run_id in runs:
                    context.writer.set_tags(run_id, {HEARTBEAT_TAG: str(int(time.time()))})
            except MlopsError:
                pass  # the next beat tries again; the task's own work says what is wrong
            if stop.wait(HEARTBEAT_EVERY_S):
                return

    thread = threading.Thread(target=beat, name="mlops-kfp-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


#: on the parent run started in KFP: the KFP run's id, by which ``close`` finds it
JOB_TAG = "mlops.pipeline.kfp_job"


def _start(spec: PipelineSpec, job: str) -> RunState:
    from ...tracking.mlflow_tables.run_writes import experiment_for, open_run_writer

    settings = load_settings(spec.path.parent)
    experiment_id = experiment_for(settings, spec.experiment_name)
    writer = open_run_writer(settings)
    extra = {"mlops.pipeline.executor": EXECUTOR, **({JOB_TAG: job} if job else {})}
    parent = start_parent(writer, experiment_id, spec, settings.root, extra)
    # this process ends now: the parent lives by its heartbeat, which each task refreshes
    writer.set_tags(parent, {"mlops.pid": "", "mlops.pid_start": ""})
    return RunState(parent=parent, experiment_id=experiment_id, started=time.time())


def _context(spec: PipelineSpec, state: RunState) -> RunContext:
    """The orchestrator's view of the run, its units as the upstream tasks left them."""
    from ...tracking.mlflow_bridge.store import lazy_client
    from ...tracking.mlflow_tables.run_writes import open_run_writer

    settings = load_settings(spec.path.parent)
    units = build_units(spec)
    for members in units.values():
        members[:] = [state.unit(u.id) or u for u in members]
    context = RunContext(
        spec,
        settings,
        lazy_client(settings),
        open_run_writer(settings),
        state.experiment_id,
        state.parent,
        Options(executor=EXECUTOR),
        set(spec.steps),
        units,
        PipelineListener(),
    )
    context.pins = {k: dict(v) for k, v in state.pins.items()}
    context.step_runs = dict(state.step_runs)
    context.checked = dict(state.checked)
    return context


def _kept(state: RunState, context: RunContext) -> RunState:
    for unit in context.all_units():
        if unit.status != "pending":
            state.record(unit)
    state.pins.update(context.pins)
    state.step_runs.update(context.step_runs)
    state.checked.update(context.checked)
    return state


def _run_unit(context: RunContext, step: str, index: int) -> None:
    members = context.units[step]
    if not 0 <= index < len(members):
        raise InvalidInput(f"step {step!r} has {len(members)} unit(s); no unit {index}")
    if members[index].done:
        return  # its sweep task found it cached, or skipped it
    context.units[step] = [members[index]]  # the other members are tasks of their own
    executor = open_executor("local", 1)
    try:
        schedule(context, executor, [step])
    finally:
        executor.close()
    context.units[step] = members


def _run_study(context: RunContext, step: str) -> None:
    if context.spec.steps[step].search is None:
        raise InvalidInput(f"step {step!r} is not a searched step")
    from ..search.engine import import_optuna

    import_optuna()
    executor = open_executor("local", None)
    try:
        schedule(context, executor, [step])
    finally:
        executor.close()
        runs = {step: context.step_runs[step]} if step in context.step_runs else {}
        end_step_runs(context.client, context.writer, runs, context.units, context.feeds)


def _finish(spec: PipelineSpec, state: RunState) -> None:
    context = _context(spec, state)
    units = context.all_units()
    result = PipelineResult(spec.name, state.parent, state.experiment_id, units, executor=EXECUTOR)
    result.duration_s = max(0.0, time.time() - state.started)
    open_runs = {s: r for s, r in state.step_runs.items() if s not in state.ended}
    try:
        end_step_runs(context.client, context.writer, open_runs, context.units, {})
    finally:
        end_parent(context.writer, result, "FINISHED" if result.ok else "FAILED")
    print(result.table(), flush=True)
    if not result.ok:
        bad = [u for u in units if u.status not in ("ran", "cached", "pruned")]
        what = "; ".join(f"{u.label} {u.status}: {_first_line(u.message)}" for u in bad[:5])
        raise MlopsError(f"{result.summary()}; {what}")


#: why ``close`` ended a run (tag ``mlops.killed_reason``, as the reaping of dead runs says)
CLOSED_REASON = "the KFP run ended before its finish task (a task failed or was stopped)"


def _close(spec: PipelineSpec, job: str) -> None:
    """End the parent of KFP run ``job`` as the local executor would have, if still RUNNING.

    Nothing to do after ``finish`` (the parent is ended) or before ``start`` made it.
    Otherwise the run is rebuilt from the states the tasks left (:data:`STATES`): a unit
    whose gate refused its input failed, the units after a failed or skipped one are
    skipped (the local executor's rules, its messages), and the parent ends ``FAILED`` with
    ``pipeline.json`` and the counts. A unit whose task never finished failed with
    :data:`CLOSED_REASON`; then the runs still ``RUNNING`` under the parent are ``KILLED``,
    and they and the parent are tagged with why.
    """
    from ...tracking.mlflow_bridge.store import lazy_client, mlflow_errors
    from ..runs import PARENT_TAG, end_run

    if not job:
        raise InvalidInput("a close task needs the KFP run's id: --job")
    settings = load_settings(spec.path.parent)
    client = lazy_client(settings)
    with mlflow_errors(f"read the pipeline run of KFP run {job}"):
        experiment = client.get_experiment_by_name(spec.experiment_name)
        found = experiment and client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`{JOB_TAG}` = '{job}' and attributes.status = 'RUNNING'",
        )
        if not experiment or not found:
            return
        parent = found[0].info
    state = merge(_left_states(client, parent.run_id))
    state.parent, state.experiment_id = parent.run_id, parent.experiment_id
    state.started = state.started or parent.start_time / 1000
    context = _context(spec, state)
    unfinished = _settle(context, state)
    open_runs = {s: r for s, r in context.step_runs.items() if s not in state.ended}
    end_step_runs(context.client, context.writer, open_runs, context.units, {})
    with mlflow_errors(f"read the runs under pipeline run {parent.run_id}"):
        left = client.search_runs(
            [parent.experiment_id],
            filter_string=(
                f"tags.`{PARENT_TAG}` = '{parent.run_id}' and attributes.status = 'RUNNING'"
            ),
            max_results=5000,
        )
    reason = {"mlops.killed_reason": CLOSED_REASON}
    for run in left:
        end_run(context.writer, run.info.run_id, "KILLED", reason)
    result = PipelineResult(
        spec.name, parent.run_id, parent.experiment_id, context.all_units(), executor=EXECUTOR
    )
    result.duration_s = max(0.0, time.time() - state.started)
    if unfinished or left:
        context.writer.set_tags(parent.run_id, reason)
    end_parent(context.writer, result, "FAILED")
    print(result.table(), flush=True)
    why = CLOSED_REASON if unfinished or left else "a task failed"
    print(
        f"pipeline {spec.name}: {why}; run {parent.run_id} ended FAILED, "
        f"{len(left)} run(s) under it KILLED",
        flush=True,
    )


def _left_states(client: Any, parent: str) -> list[RunState]:
    """The states the tasks of the run kept on its parent run (none: only ``start``'s job)."""
    from ...tracking.mlflow_bridge.store import mlflow_errors
    from ...tracking.reading.artifact_copy import copy_artifact

    with mlflow_errors(f"list the artifacts of pipeline run {parent}"):
        if not any(f.path == STATES for f in client.list_artifacts(parent)):
            return []
    with copy_artifact(client, parent, STATES) as copy:
        return [decode(f.read_text()) for f in sorted(copy.path.glob("*.state"))]


def _settle(context: RunContext, state: RunState) -> bool:
    """Give each unit no task finished what the local executor would; True if one never ran."""
    unfinished = False
    for name in step_order(context.spec):
        if name in state.ended:
            continue  # a study's driver recorded its trials itself
        refused = context.checked.get(name)
        for unit in context.units[name]:
            if unit.done:
                continue
            blocked = blocked_by(context, name)
            if blocked:
                unit.status, unit.message = "skipped", blocked
            elif refused:
                unit.status, unit.message = "failed", refused
            else:
                unit.status, unit.message = "failed", CLOSED_REASON
                unfinished = True
    return unfinished


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no message"
