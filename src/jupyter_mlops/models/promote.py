"""Gated alias moves with an audit trail kept on the model versions themselves.

Each attempt (allowed or refused) becomes one version tag
``mlops.audit.<epoch ms>.<random>`` holding a JSON record. One tag per attempt
means concurrent promotions never overwrite each other's record: there is no
read-modify-write of a shared list.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, MlopsError, NotFound
from ..tracking.mlflow_bridge.store import mlflow_errors, translate
from ..tracking.writing.run_context import user_name
from .gates import Beat, Check, GateReport, Threshold, evaluate
from .refs import ModelRef, check_alias, parse_ref, quote, registered, resolve

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["AUDIT_PREFIX", "audit_trail", "record_rollback", "run_gates", "source_metrics"]

AUDIT_PREFIX = "mlops.audit."
#: registered models named so are promotion locks (held for the moment of a promotion)
LOCK_PREFIX = "mlops-promotion-lock-"
_LOCK_WAIT_S = 60.0
_LOCK_STALE_S = 120.0


def source_metrics(client: MlflowClient, version: ModelVersion) -> dict[str, float]:
    """Latest value of every metric on the version's source run (empty without a run)."""
    if not version.run_id:
        return {}
    with mlflow_errors(f"read the source run of {version.name}/{version.version}"):
        return dict(client.get_run(version.run_id).data.metrics)


def _holder(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    model = registered(client, name)
    if alias not in model.aliases:
        return None
    return resolve(client, ModelRef(name, alias=alias))


def run_gates(
    client: MlflowClient,
    ref: ModelRef | str,
    requirements: Sequence[Threshold] = (),
    beat: Beat | None = None,
    promote_to: str | None = None,
    *,
    action: str = "promote",
    expect_from: str | None = None,
    note: str = "",
) -> GateReport:
    """Evaluate gates on ``ref``; when ``promote_to`` is given, move that alias if all pass.

    ``expect_from`` makes the move conditional on the alias still pointing at that
    version (the one the evidence was gathered against); ``note`` is the audit
    record's reason for a promotion that passed.

    A promotion is compare-and-set: it holds the model's promotion lock while it
    reads the holder, evaluates the gates against it and moves the alias, so two
    promotions racing on one model never both pass against the same old holder.
    The attempt is recorded on the version whenever a promotion was asked,
    whatever the outcome. Errors (unknown model, missing metric) raise before
    anything is written.
    """
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    if promote_to is not None:
        check_alias(promote_to)
    candidate = resolve(client, ref)
    if promote_to is None:
        return _evaluate(client, candidate, requirements, beat)
    with promotion_lock(client, candidate.name):
        report = _evaluate(client, candidate, requirements, beat)
        previous = _holder(client, candidate.name, promote_to)
        report.previous = str(previous.version) if previous is not None else None
        if expect_from is not None and report.previous != expect_from:
            moved = Check(
                f"{promote_to} still on version {expect_from}", None, None, False,
                f"{promote_to} is on version {report.previous} now",
            )  # fmt: skip
            report.checks.append(moved)
        if report.passed:
            _move_alias(client, candidate.name, promote_to, str(candidate.version))
            report.promoted_to = promote_to
        _record(client, candidate, promote_to, report, action, note)
    return report


def _evaluate(
    client: MlflowClient,
    candidate: ModelVersion,
    requirements: Sequence[Threshold],
    beat: Beat | None,
) -> GateReport:
    incumbent = None
    if beat is not None:
        held = _holder(client, candidate.name, beat.alias)
        if held is not None:
            incumbent = (str(held.version), source_metrics(client, held))
    whose = f"the source run of {candidate.name}/{candidate.version}"
    checks = evaluate(source_metrics(client, candidate), requirements, beat, incumbent, whose)
    return GateReport(candidate.name, str(candidate.version), checks)


@contextlib.contextmanager
def promotion_lock(client: MlflowClient, name: str, wait_s: float = _LOCK_WAIT_S) -> Iterator[None]:
    """Hold model ``name``'s promotion lock: a registered model only one process can create.

    Creating a registered model is atomic in every MLflow store (its name is
    unique), and deleting one is final, so it works the same on SQLite and on a
    team server. A lock older than :data:`_LOCK_STALE_S` (its holder died) is broken.
    """
    lock = LOCK_PREFIX + hashlib.sha1(name.encode()).hexdigest()[:16]
    deadline = time.monotonic() + wait_s
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={"mlops.lock.for": name, "mlops.lock.at": f"{time.time():.3f}"},
                description=f"jupyter-mlops is promoting a version of {name}; held for a moment",
            )
            break
        except Exception as exc:
            problem = translate(exc, f"lock promotions of {name}")
            # Taken (Conflict), or released by its holder in the middle of our create
            # (a tracking server then reports the half-made lock NotFound): try again.
            if not isinstance(problem, (Conflict, NotFound)):
                raise problem from None
        _break_if_stale(client, lock)
        if time.monotonic() > deadline:
            raise Conflict(
                f"another promotion of {name} has been in progress for {wait_s:.0f} s; retry"
            )
        time.sleep(0.05 + random.random() * 0.1)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            client.delete_registered_model(lock)


def _break_if_stale(client: MlflowClient, lock: str) -> None:
    try:
        held_at = float(client.get_registered_model(lock).tags.get("mlops.lock.at", "0"))
    except Exception:
        return  # released meanwhile
    if time.time() - held_at > _LOCK_STALE_S:
        with contextlib.suppress(Exception):
            client.delete_registered_model(lock)


def _move_alias(client: MlflowClient, name: str, alias: str, version: str) -> None:
    # MLflow's SQL store inserts a new alias after checking it is absent, so two first
    # promotions racing on one alias can hit its unique constraint: the loser retries,
    # finds the alias and updates it.
    for attempt in range(5):
        try:
            with mlflow_errors(f"set alias {alias!r} on {name}/{version}"):
                client.set_registered_model_alias(name, alias, version)
            return
        except MlopsError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def _record(
    client: MlflowClient,
    version: ModelVersion,
    alias: str,
    report: GateReport,
    action: str,
    note: str = "",
) -> None:
    now = time.time()
    entry = {
        "time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
        "user": user_name(),
        "action": action,
        "alias": alias,
        "from_version": report.previous,
        "result": "promoted" if report.passed else "refused",
        "gates": [
            {"check": c.check, "value": c.value, "threshold": c.threshold, "passed": c.passed}
            for c in report.checks
        ],
        "reason": report.failure_text() if not report.passed else note,
    }
    key = f"{AUDIT_PREFIX}{int(now * 1000):013d}.{uuid.uuid4().hex[:8]}"
    with mlflow_errors(f"record the promotion on {version.name}/{version.version}"):
        client.set_model_version_tag(version.name, str(version.version), key, json.dumps(entry))


def record_rollback(client: MlflowClient, version: ModelVersion, alias: str, reason: str) -> None:
    """Record in the audit trail that ``version``, on trial against ``alias``, was rolled back."""
    now = time.time()
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
        "user": user_name(),
        "action": "rollback",
        "alias": alias,
        "from_version": None,
        "result": "rolled back",
        "gates": [],
        "reason": reason,
    }
    key = f"{AUDIT_PREFIX}{int(now * 1000):013d}.{uuid.uuid4().hex[:8]}"
    with mlflow_errors(f"record the rollback on {version.name}/{version.version}"):
        client.set_model_version_tag(version.name, str(version.version), key, json.dumps(entry))


def audit_trail(client: MlflowClient, name: str) -> list[dict[str, Any]]:
    """Every recorded promotion attempt of model ``name``, oldest first."""
    with mlflow_errors(f"find model {name!r}"):
        registered(client, name)
        versions = client.search_model_versions(f"name = '{quote(name)}'")
    entries = []
    for v in versions:
        for key, value in v.tags.items():
            if key.startswith(AUDIT_PREFIX):
                record = json.loads(value)
                entries.append({"model": name, "version": str(v.version), "key": key, **record})
    entries.sort(key=lambda e: e["key"])
    return entries
