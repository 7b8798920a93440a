"""Cache of step executions, kept in MLflow itself.

The key of a step (or sweep member) hashes everything its result depends on:
the source of its code cells (outputs, metadata and markdown do not count), its
parameters and kernel, the snapshot digests pinned for it, the keys of its
upstream steps, and the installed package set. Each executed run carries its
key as the tag ``mlops.cache_key``; a later run with the same key reuses the
latest FINISHED run having it. A failed run is never FINISHED, so it never
poisons the cache.

Snapshots a step loads by bare name without a pin are checked when a hit is
found: each must still resolve to the digest the cached run recorded, or the
hit is refused (the data changed under the notebook).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..headless.parameters import load_notebook_json

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

    from ..config import Settings

__all__ = [
    "CACHE_TAG",
    "CachedRun",
    "code_digest",
    "find_hit",
    "package_digest",
    "step_key",
]

CACHE_TAG = "mlops.cache_key"
_KEY_VERSION = "1"
#: tag the snapshot service puts on a dataset input: produced (``snapshot``) or read
_CONTEXT_TAG = "mlflow.data.context"
_PRODUCED = "snapshot"
#: runs with a key looked at, newest first, for one whose inputs are unchanged
_CANDIDATES = 5


@dataclass(frozen=True)
class CachedRun:
    """A finished run whose result can stand in for an execution.

    Attributes
    ----------
    run_id : str
    produced : dict
        Snapshots the run took (``mlops.snapshot``): name -> digest.
    loaded : dict
        Snapshots the run read (``mlops.data.load``): name -> digest.
    """

    run_id: str
    produced: dict[str, str] = field(default_factory=dict)
    loaded: dict[str, str] = field(default_factory=dict)


def code_digest(notebook: str | os.PathLike[str]) -> str:
    """Hash of the notebook's code cells' source, in order; nothing else counts.

    Examples
    --------
    >>> code_digest("train.ipynb")[:12]  # doctest: +SKIP
    '5be2a0c9d1f3'
    """
    doc = load_notebook_json(Path(notebook))
    digest = hashlib.sha256()
    for cell in doc.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00cell\x00")
    return digest.hexdigest()


def package_digest() -> str:
    """Hash of the installed distributions (``name-version``) visible on ``sys.path``.

    Reads folder names only (``*.dist-info``), so it costs about a millisecond.
    """
    found: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found.update(
            n.rsplit(".", 1)[0].lower() for n in names if n.endswith((".dist-info", ".egg-info"))
        )
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()


def step_key(
    code: str,
    params: Mapping[str, Any],
    *,
    kernel: str,
    pins: Mapping[str, str],
    upstream: Mapping[str, list[str]],
    packages: str,
) -> str:
    """The cache key of one execution (40 hex digits)."""
    doc = {
        "v": _KEY_VERSION,
        "code": code,
        "params": params,
        "kernel": kernel,
        "pins": dict(sorted(pins.items())),
        "upstream": {k: sorted(v) for k, v in sorted(upstream.items())},
        "packages": packages,
    }
    text = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def snapshots_of(run: Any) -> tuple[dict[str, str], dict[str, str]]:
    """``(produced, loaded)`` snapshots of an MLflow run, name -> digest."""
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    return _split(
        (item.dataset.name, item.dataset.digest, {t.key: t.value for t in item.tags})
        for item in inputs
    )


def _split(
    inputs: Iterable[tuple[str, str, Mapping[str, str]]],
) -> tuple[dict[str, str], dict[str, str]]:
    produced: dict[str, str] = {}
    loaded: dict[str, str] = {}
    for name, digest, tags in inputs:
        target = produced if tags.get(_CONTEXT_TAG) == _PRODUCED else loaded
        target[name] = digest
    return produced, loaded


def find_hit(
    client: MlflowClient,
    experiment_id: str,
    key: str,
    pins: Mapping[str, str],
    settings: Settings,
) -> CachedRun | None:
    """The latest FINISHED run with ``key`` whose unpinned inputs are unchanged, else ``None``.

    An embedded store is read directly (no MLflow import); others through ``client``.
    """
    for run_id, produced, loaded in _candidates(client, experiment_id, key, settings):
        if _inputs_unchanged(loaded, pins, settings.data_uri):
            return CachedRun(run_id, produced, loaded)
    return None


def _candidates(
    client: MlflowClient, experiment_id: str, key: str, settings: Settings
) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    from ..tracking.mlflow_bridge.store import mlflow_errors
    from ..tracking.mlflow_tables.run_reads import finished_runs_tagged

    direct = finished_runs_tagged(settings, experiment_id, CACHE_TAG, key, _CANDIDATES)
    if direct is not None:
        return [
            (run_id, *_split((i.name, i.digest, i.tags) for i in inputs))
            for run_id, inputs in direct
        ]
    with mlflow_errors("look the cache up"):
        runs = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{CACHE_TAG}` = '{key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=_CANDIDATES,
        )
    return [(run.info.run_id, *snapshots_of(run)) for run in runs]


def _inputs_unchanged(loaded: Mapping[str, str], pins: Mapping[str, str], data_uri: str) -> bool:
    unpinned = {name: digest for name, digest in loaded.items() if name not in pins}
    if not unpinned:
        return True
    current = current_digests(data_uri, list(unpinned))
    return all(current.get(name) == digest for name, digest in unpinned.items())


def current_digests(data_uri: str, names: list[str]) -> dict[str, str]:
    """Digest of the latest version of each snapshot name (absent names are left out)."""
    from ..data.store import SnapshotStore

    store = SnapshotStore(data_uri)
    out: dict[str, str] = {}
    for name in names:
        versions = store.versions(name)
        if versions:
            out[name] = store.read_manifest(name, versions[-1])["digest"]
    return out
