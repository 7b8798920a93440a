"""Public model-registry functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> mlops.register_model(clf, "churn", data="train", alias="candidate")   # doctest: +SKIP
>>> mlops.promote("churn", 3, "production", require=["accuracy>=0.9"],
...               beat="production", on="accuracy")                       # doctest: +SKIP
>>> model = mlops.load_model("churn@production")                          # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..tracking.api import tracker
from ..tracking.mlflow_bridge.store import mlflow_errors
from .gates import GateReport, PromotionRefused, parse_beat, parse_requirement
from .refs import ModelRef, check_alias, parse_ref, quote, registered, resolve

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .monitoring_runs import MonitorResult
    from .register import RegisteredVersion

__all__ = [
    "gate",
    "history",
    "lineage",
    "load_model",
    "model_card",
    "models",
    "monitor",
    "monitoring",
    "promote",
    "register_model",
]


def register_model(
    model: Any,
    name: str,
    *,
    data: Any = None,
    example: Any = None,
    alias: str | None = None,
    description: str | None = None,
    card: dict[str, str] | None = None,
) -> RegisteredVersion:
    """Log ``model`` to the active run (started if needed) and register a new version.

    The flavor is chosen from the object (scikit-learn estimator or Pipeline, else a
    generic pyfunc for anything with ``predict``); the signature and input example come
    from snapshot ``data`` or from ``example``. The version is tagged with its lineage:
    source run, digests of the run's snapshots, notebook, git commit, cell hash.

    Parameters
    ----------
    model : object
        A fitted estimator or any object with ``predict(X)``.
    name : str
        Registered model name (created on first use).
    data : str or SnapshotRef, optional
        Snapshot whose first rows become the input example (``name``, ``name@3``, ...).
    example : DataFrame or array, optional
        Input rows, when not taking them from a snapshot.
    alias : str, optional
        Alias to point at the new version (recorded in the audit trail).
    description : str, optional
    card : dict, optional
        Written sections of the model card (``intended_use``, ``limitations``,
        ``ethical_considerations``, ``caveats``, any other), Markdown text each; they
        override the same sections of the notebook's cell tagged ``model-card``. The card
        (``model_card.md``, ``model_card.html``) is stored with the version now and again
        at each promotion.

    Examples
    --------
    >>> v = mlops.register_model(clf, "churn", data="train", alias="candidate")  # doctest: +SKIP
    >>> v.version
    '3'
    """
    from .cards.sections import card_tag
    from .examples import from_object, from_snapshot
    from .flavors import choose_flavor
    from .register import check_name, create_version

    name = check_name(name)
    card_tags = card_tag(card)
    flavor = choose_flavor(model)
    if alias is not None:
        check_alias(alias)
    if data is not None and example is not None:
        raise InvalidInput("give either data=SNAPSHOT or example=ROWS, not both")
    ex = None
    if data is not None:
        ex = from_snapshot(model, data)
    elif example is not None:
        ex = from_object(model, example)
    t = tracker()
    run = t.ensure_run()
    if ex is not None and ex.snapshot is not None:
        _record_training_input(t.client, run.run_id, ex.snapshot.pop("manifest"))
    t.flush()
    version = create_version(
        t.client, model, name, flavor, ex,
        run_id=run.run_id, experiment_id=run.experiment_id,
        cell_source=t.cell_source, description=description,
    )  # fmt: skip
    for key, value in card_tags.items():
        with mlflow_errors(f"record the model card sections on {name}/{version.version}"):
            t.client.set_model_version_tag(name, version.version, key, value)
    if alias is not None:
        from dataclasses import replace

        from .promote import run_gates

        run_gates(t.client, ModelRef(name, version.version), promote_to=alias, action="register")
        version = replace(version, alias=alias)
    _store_card(t, ModelRef(name, version.version))
    return version


def _store_card(t: Any, ref: ModelRef) -> None:
    """Write the version's model card (its own failure is a tag, never the caller's)."""
    from .cards.api import store_card

    t.flush()  # the card reads the run's latest metrics
    store_card(t.client, resolve(t.client, ref), t.settings.tracking_uri)


def model_card(ref: str) -> Any:
    """The model card of ``"name@alias"``, ``"name/3"`` or ``"name"``, generated now.

    From lineage: model, aliases and promotion history, training run, snapshots,
    evaluation (with ``mlops.models.evaluate`` slices), monitoring, signature, dependencies;
    and the sections people wrote. ``.markdown`` is ``model_card.md`` (Hugging Face
    layout), ``.html`` the page.

    Examples
    --------
    >>> card = mlops.models.card("churn@production")  # doctest: +SKIP
    >>> print(card.markdown)                          # doctest: +SKIP
    """
    from .cards.api import build_card

    t = tracker()
    t.flush()
    return build_card(t.client, resolve(t.client, ref), t.settings.tracking_uri)


def _record_training_input(client: Any, run_id: str, manifest: dict[str, Any]) -> None:
    """Make sure the run lists the training snapshot among its dataset inputs."""
    from ..data.lineage import log_input
    from .lineage import snapshot_inputs

    if manifest["digest"] not in {s["digest"] for s in snapshot_inputs(client, run_id)}:
        log_input(manifest, "training")


def load_model(ref: str, kind: str = "native") -> Any:
    """Load ``"name@alias"``, ``"name/3"`` or ``"name"`` (latest version).

    ``kind="native"`` returns the registered object (the scikit-learn estimator, or
    the object wrapped for ``predict``); ``kind="pyfunc"`` returns MLflow's pyfunc model.

    Examples
    --------
    >>> model = mlops.load_model("churn@production")  # doctest: +SKIP
    >>> model.predict(X_test)                          # doctest: +SKIP
    """
    from .loading import KINDS, load_version, model_copy

    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    t = tracker()
    version = resolve(t.client, ref)
    with model_copy(t.client, version, t.settings.tracking_uri) as path:
        return load_version(path, kind)


def _requirements(require: str | Sequence[str] | None) -> list[Any]:
    items = [require] if isinstance(require, str) else list(require or [])
    return [parse_requirement(text) for text in items]


def gate(
    ref: str,
    require: str | Sequence[str] | None = None,
    beat: str | None = None,
    on: str | None = None,
    lower_is_better: bool = False,
    promote: str | None = None,
) -> GateReport:
    """Evaluate gates on a version (and move alias ``promote`` when they all pass).

    Metrics come from the version's source run; ``beat``/``on`` compare with the
    version now holding alias ``beat``. Never raises for a failed gate: read
    ``report.passed``. A promotion attempt is recorded in the audit trail.

    Examples
    --------
    >>> report = mlops.models.gate("churn@candidate", require="accuracy>=0.9",
    ...                     beat="production", on="accuracy")  # doctest: +SKIP
    >>> report.passed                                          # doctest: +SKIP
    True
    """
    reqs = _requirements(require)
    b = parse_beat(beat, on, lower_is_better)
    target = parse_ref(ref)
    t = tracker()
    t.flush()
    from .promote import run_gates

    report = run_gates(t.client, target, reqs, b, promote)
    if report.promoted_to:
        _store_card(t, ModelRef(report.model, report.version))
    return report


def promote(
    name: str,
    version: int | str,
    alias: str,
    require: str | Sequence[str] | None = None,
    beat: str | None = None,
    on: str | None = None,
    lower_is_better: bool = False,
) -> GateReport:
    """Point ``alias`` at ``name`` version ``version`` if every gate passes.

    Raises
    ------
    PromotionRefused
        A gate failed; the alias stayed where it was and ``exc.report`` has the details.

    Examples
    --------
    >>> mlops.promote("churn", 3, "production", require=["accuracy>=0.9", "f1>=0.8"],
    ...               beat="production", on="accuracy")  # doctest: +SKIP
    """
    if not str(version).strip().isdigit():
        raise InvalidInput(
            f"version must be a number, got {version!r}; e.g. promote churn 3 --alias production"
        )
    if not alias:
        raise InvalidInput("give the alias to move, e.g. --alias production")
    report = gate(f"{name}/{int(str(version))}", require, beat, on, lower_is_better, alias)
    if not report.passed:
        raise PromotionRefused(
            f"{name} version {report.version} not promoted to {alias!r}; gate failed: "
            f"{report.failure_text()}; {alias!r} stays on "
            f"{'version ' + report.previous if report.previous else 'no version'}",
            report,
        )
    return report


def models(name: str | None = None) -> pd.DataFrame:
    """Registered models and versions with aliases and each version's source-run metrics.

    Examples
    --------
    >>> mlops.models.list()          # doctest: +SKIP
    >>> mlops.models.list("churn")   # doctest: +SKIP
    """
    import pandas as pd

    from .promote import source_metrics

    t = tracker()
    t.flush()
    client = t.client
    with mlflow_errors("list models"):
        if name:
            registered(client, name)
        found = client.search_model_versions(f"name = '{quote(name)}'" if name else None)
    rows = []
    aliases = _aliases(client, {v.name for v in found})
    for v in sorted(found, key=lambda v: (v.name, -int(v.version))):
        row = {
            "name": v.name,
            "version": int(v.version),
            "aliases": ", ".join(sorted(aliases.get((v.name, str(v.version)), []))),
            "created": pd.Timestamp(v.creation_timestamp, unit="ms"),
            "run_id": v.run_id,
            "flavor": v.tags.get("mlops.lineage.flavor", ""),
        }
        row.update({f"metrics.{k}": val for k, val in sorted(source_metrics(client, v).items())})
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=None if rows else ["name", "version", "aliases", "created", "run_id", "flavor"],
    )


def _aliases(client: Any, names: set[str]) -> dict[tuple[str, str], list[str]]:
    # Version search results do not carry aliases in every store; the model does.
    held: dict[tuple[str, str], list[str]] = {}
    for name in names:
        with mlflow_errors(f"read model {name!r}"):
            model = client.get_registered_model(name)
        for alias, version in model.aliases.items():
            held.setdefault((name, str(version)), []).append(alias)
    return held


def history(name: str) -> pd.DataFrame:
    """The audit trail of ``name``: every promotion and refusal, oldest first.

    Examples
    --------
    >>> mlops.models.history("churn")  # doctest: +SKIP
    """
    import pandas as pd

    from .promote import audit_trail

    columns = [
        "time",
        "version",
        "alias",
        "result",
        "from_version",
        "user",
        "action",
        "gates",
        "reason",
    ]
    rows = []
    for entry in audit_trail(tracker().client, name):
        gates = "; ".join(
            f"{g['check']} {'pass' if g['passed'] else 'FAIL'}" for g in entry.get("gates", [])
        )
        rows.append({**{c: entry.get(c) for c in columns}, "gates": gates or "(none)"})
    return pd.DataFrame(rows, columns=columns)


def monitor(
    ref: str, data: Any, *, reference: str | None = None, threshold: float = 0.05
) -> MonitorResult:
    """Score new data with a registered version and measure drift against its training data.

    Logged as a monitoring run (tags ``mlops.monitor.model``/``version``) holding
    prediction statistics, per-column drift metrics, the drift report and the
    predictions; the version gets tag ``mlops.monitor.last_run``.

    Parameters
    ----------
    ref : str
        ``name@alias``, ``name/3`` or ``name``.
    data : DataFrame
        New rows with the training columns.
    reference : str, optional
        Snapshot to compare with; default the version's training snapshot.
    threshold : float
        p-value below which a column counts as drifted.

    Examples
    --------
    >>> result = mlops.models.monitor("churn@production", new_df)  # doctest: +SKIP
    >>> result.summary                                       # doctest: +SKIP
    >>> result.drift.drifted_columns                         # doctest: +SKIP
    """
    from .monitoring_runs import run_monitor

    return run_monitor(ref, data, reference, threshold)


def monitoring(name: str, limit: int = 5) -> pd.DataFrame:
    """Each version's latest monitoring runs and alerts (newest version first).

    One row per monitoring run recorded on a version: by ``mlops.models.monitor()`` or by an
    alert of ``jupyter mlops serve`` (``alert`` holds its expression and ``value`` the
    value that fired it). At most ``limit`` runs per version.

    Examples
    --------
    >>> mlops.models.monitoring("churn")  # doctest: +SKIP
    """
    import pandas as pd

    from .monitoring_runs import monitoring_history

    client = tracker().client
    with mlflow_errors(f"list the versions of {name!r}"):
        registered(client, name)
        found = client.search_model_versions(f"name = '{quote(name)}'")
    rows = []
    for v in sorted(found, key=lambda v: -int(v.version)):
        for e in monitoring_history(dict(v.tags), limit):
            rows.append(
                {
                    "version": int(v.version),
                    "time": pd.Timestamp(float(e["time"]), unit="s").floor("s"),
                    "run_id": e["run_id"],
                    "rows": e.get("rows"),
                    "share_drifted": e.get("share_drifted"),
                    "alert": e.get("alert") or "",
                    "value": e.get("value"),
                }
            )
    return pd.DataFrame(rows, columns=_MONITORING_COLUMNS)


_MONITORING_COLUMNS = ["version", "time", "run_id", "rows", "share_drifted", "alert", "value"]


def lineage(ref: str) -> dict[str, Any]:
    """The lineage recorded on a version: source run, snapshots, notebook, git commit, cell hash."""
    from .lineage import read_lineage

    version = resolve(tracker().client, ref)
    info = read_lineage(dict(version.tags))
    info.setdefault("run_id", version.run_id)
    return json.loads(json.dumps(info))
