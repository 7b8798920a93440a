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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..headless.parameters import load_notebook_json

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

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


@dataclass(frozen=True)
class CachedRun:
    """A finished run whose result can stand in for an execution.

    Attributes
    ----------
    run_id : str
    produced : dict
        Snapshots the run took (``mlops.snapshot``): name -> digest.
    loaded : dict
        Snapshots the run read (``mlops.load``): name -> digest.
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
    produced: dict[str, str] = {}
    loaded: dict[str, str] = {}
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    for item in inputs:
        tags = {t.key: t.value for t in item.tags}
        target = produced if tags.get(_CONTEXT_TAG) == _PRODUCED else loaded
        target[item.dataset.name] = item.dataset.digest
    return produced, loaded


def find_hit(
    client: MlflowClient,
    experiment_id: str,
    key: str,
    pins: Mapping[str, str],
    data_uri: str,
) -> CachedRun | None:
    """The latest FINISHED run with ``key`` whose unpinned inputs are unchanged, else ``None``."""
    from ..tracking.store import mlflow_errors

    with mlflow_errors("look the cache up"):
        runs = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{CACHE_TAG}` = '{key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=5,
        )
    for run in runs:
        produced, loaded = snapshots_of(run)
        if _inputs_unchanged(loaded, pins, data_uri):
            return CachedRun(run.info.run_id, produced, loaded)
    return None


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
