"""Reading the tracking store for browsing interfaces (REST, sidebar): plain JSON-ready dicts.

Every function takes an :class:`mlflow.MlflowClient` and returns dicts and lists of
str/int/float/None only, so interfaces render them without knowing MLflow's types.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ...errors import InvalidInput, NotFound
from ...json_values import finite_or_none
from ..mlflow_bridge.store import mlflow_errors
from .artifact_copy import ArtifactCopy, copy_artifact
from .frames import FILTER_HINT

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = [
    "MAX_PAGE",
    "artifact_file",
    "experiments",
    "get_run",
    "list_artifacts",
    "metric_history",
    "run_detail",
    "runs_page",
]

#: largest page of runs one request may ask for
MAX_PAGE = 1000
#: tags shown in run rows (the full set is in the detail)
_ROW_TAGS = ("mlflow.parentRunId", "mlops.notebook.path", "mlflow.source.git.commit")


def experiments(client: MlflowClient) -> list[dict[str, Any]]:
    """Return the active experiments, most recently updated first.

    Experiments tagged ``mlops.internal`` (the schedules' ledger) are left out: they hold
    bookkeeping, not results.
    """
    from mlflow.entities import ViewType

    with mlflow_errors("list experiments"):
        found = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=50_000)
    shown = [e for e in found if "mlops.internal" not in e.tags]
    ordered = sorted(shown, key=lambda e: e.last_update_time or 0, reverse=True)
    return [
        {
            "experiment_id": str(e.experiment_id),
            "name": e.name,
            "artifact_location": e.artifact_location,
            "creation_time": e.creation_time,
            "last_update_time": e.last_update_time,
            "tags": {k: v for k, v in e.tags.items() if not k.startswith("mlflow.")},
        }
        for e in ordered
    ]


def runs_page(
    client: MlflowClient,
    tracking_uri: str,
    experiment_ids: list[str],
    filter_string: str = "",
    order_by: list[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> dict[str, Any]:
    """Return one page of runs, the token of the next one and how many match.

    Pages come from the process-wide :class:`~.index.RunsIndex` of the experiments
    (MLflow's filter and order semantics, milliseconds even when sorting 10,000
    runs by a metric); MLflow stays the system of record.

    Parameters
    ----------
    client : MlflowClient
        Client on ``tracking_uri`` (used by the index for non-SQL stores).
    tracking_uri : str
    experiment_ids : list of str
        Experiments to search; at least one.
    filter_string : str
        MLflow search syntax, e.g. ``"metrics.acc > 0.8"``.
    order_by : list of str, optional
        E.g. ``["metrics.acc DESC"]``; default newest first.
    max_results : int
        Page size, 1 to :data:`MAX_PAGE`.
    page_token : str, optional
        ``next_page_token`` of the previous page.

    Returns
    -------
    dict
        ``{"runs": [row, ...], "next_page_token": str | None, "total": int}``.
    """
    from .index import shared_index

    if not experiment_ids:
        raise InvalidInput("give at least one experiment id, e.g. ?experiment_id=1")
    if not 1 <= max_results <= MAX_PAGE:
        raise InvalidInput(f"max_results must be between 1 and {MAX_PAGE}, got {max_results}")
    for exp in experiment_ids:
        if not exp.isdigit():
            raise InvalidInput(f"experiment_id must be a number, got {exp!r}; see GET experiments")
    index = shared_index(tracking_uri, experiment_ids, client)
    offset = _offset(page_token)
    with mlflow_errors("search runs", FILTER_HINT):
        page = index.page(filter_string, order_by or None, offset=offset, page_size=max_results)
    rows = [_slim(r.as_dict()) for r in page.rows]
    return {"runs": rows, "next_page_token": page.next_page_token(offset), "total": page.total}


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not page_token.isdigit():
        raise InvalidInput(
            f"bad page_token {page_token!r}: pass the next_page_token of the previous page"
        )
    return int(page_token)


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = {k: row["tags"][k] for k in _ROW_TAGS if k in row["tags"]}
    return row


def run_row(run: Run) -> dict[str, Any]:
    """Return the summary of ``run`` shown in a runs list."""
    info, data = run.info, run.data
    return {
        "run_id": info.run_id,
        "name": info.run_name or "",
        "experiment_id": str(info.experiment_id),
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "metrics": {k: finite_or_none(v) for k, v in sorted(data.metrics.items())},
        "params": dict(sorted(data.params.items())),
        "tags": {k: data.tags[k] for k in _ROW_TAGS if k in data.tags},
    }


def run_detail(client: MlflowClient, run_id: str) -> dict[str, Any]:
    """Return everything the run detail view shows: row fields, all tags, inputs."""
    run = get_run(client, run_id)
    row = run_row(run)
    row["tags"] = dict(sorted(run.data.tags.items()))
    row["artifact_uri"] = run.info.artifact_uri
    row["lifecycle_stage"] = run.info.lifecycle_stage
    row["inputs"] = _dataset_inputs(run)
    return row


def _dataset_inputs(run: Run) -> list[dict[str, Any]]:
    inputs = getattr(run, "inputs", None)
    rows = []
    for item in getattr(inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        rows.append(
            {
                "name": ds.name,
                "digest": ds.digest,
                "source_type": ds.source_type,
                "source": ds.source,
                "ref": _snapshot_ref(ds.source_type, ds.source),
                "schema": ds.schema,
                "profile": ds.profile,
                "tags": {t.key: t.value for t in item.tags or []},
            }
        )
    return rows


def _snapshot_ref(source_type: str, source: str) -> str | None:
    """``train@v2`` for an input recorded by a snapshot, else ``None``."""
    from ...data.lineage import SOURCE_TYPE, snapshot_ref

    return snapshot_ref(source) if source_type == SOURCE_TYPE else None


def get_run(client: MlflowClient, run_id: str) -> Run:
    """Run ``run_id``; :class:`InvalidInput` for a malformed id, :class:`NotFound` if unknown."""
    _check_run_id(run_id)
    with mlflow_errors(f"read run {run_id}"):
        return client.get_run(run_id)


def _check_run_id(run_id: str) -> None:
    if not run_id or len(run_id) > 64 or not run_id.isalnum():
        raise InvalidInput(f"malformed run id {run_id!r}: expected 32 hex characters")


def metric_history(client: MlflowClient, run_id: str, keys: list[str]) -> dict[str, Any]:
    """Return ``{key: [{"step", "value", "timestamp"}, ...]}`` sorted by step then time.

    With no ``keys``, every metric the run has is returned.
    """
    if not keys:
        keys = sorted(get_run(client, run_id).data.metrics)
    else:
        _check_run_id(run_id)
    out: dict[str, Any] = {}
    for key in keys:
        with mlflow_errors(f"read metric {key!r} of run {run_id}"):
            points = client.get_metric_history(run_id, key)
        points = sorted(points, key=lambda m: (m.step, m.timestamp))
        out[key] = [
            {"step": m.step, "value": finite_or_none(m.value), "timestamp": m.timestamp}
            for m in points
        ]
    return out


def check_artifact_path(path: str) -> str:
    """Return ``path`` normalised, refusing anything that could leave the artifact root."""
    text = (path or "").strip()
    if "\x00" in text or "\\" in text or text.startswith(("/", "~")) or ":" in text.split("/")[0]:
        raise InvalidInput(
            f"bad artifact path {path!r}: give a path relative to the run, e.g. model/MLmodel"
        )
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"bad artifact path {path!r}: '..' is not allowed")
    return "/".join(parts)


def list_artifacts(client: MlflowClient, run_id: str, path: str = "") -> list[dict[str, Any]]:
    """Return the files and folders directly under ``path`` in the run's artifacts."""
    rel = check_artifact_path(path)
    run = get_run(client, run_id)
    local = _local_root(run.info.artifact_uri)
    if local is not None:
        _inside(local, rel, must_exist=bool(rel))
    with mlflow_errors(f"list artifacts of run {run_id}"):
        files = client.list_artifacts(run_id, rel or None)
    return [
        {"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size}
        for f in sorted(files, key=lambda f: (not f.is_dir, f.path))
    ]


def artifact_file(client: MlflowClient, run_id: str, path: str, scratch: Path) -> ArtifactCopy:
    """Return a local copy of artifact ``path`` of run ``run_id``; the caller closes it.

    Local artifact stores are read in place (after checking the resolved file,
    symlinks followed, is inside the run's artifact folder); remote ones are
    downloaded into a private folder made under ``scratch`` for this one read,
    removed when the copy is closed.
    """
    rel = check_artifact_path(path)
    if not rel:
        raise InvalidInput("give the artifact to download, e.g. ?path=notebook/train.ipynb")
    run = get_run(client, run_id)
    local = _local_root(run.info.artifact_uri)
    if local is not None:
        target = _inside(local, rel, must_exist=True)
        if not target.is_file():
            raise InvalidInput(f"artifact {rel!r} is a folder; list it instead")
        return ArtifactCopy(target)
    copy = copy_artifact(client, run_id, rel, parent=scratch)
    if not copy.path.is_file():
        copy.close()
        raise InvalidInput(f"artifact {rel!r} is a folder; list it instead")
    return copy


def _local_root(artifact_uri: str) -> Path | None:
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and artifact_uri.startswith("/"):
        return Path(artifact_uri)
    return None


def _inside(root: Path, rel: str, *, must_exist: bool) -> Path:
    base = root.resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(base):
        raise InvalidInput(f"artifact path {rel!r} leaves the run's artifact folder")
    if must_exist and not target.exists():
        raise NotFound(f"run has no artifact {rel!r}; list the artifacts to see what it has")
    return target
