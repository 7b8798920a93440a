"""Keeping the store honest: ``verify`` re-hashes every blob, ``gc`` removes unreferenced ones."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import MlopsError
from .blobs import decode_blob
from .hashing import content_key
from .selection import Recipe, assemble, logical_keys, physical_keys
from .store import TMP_MARK, SnapshotStore

__all__ = ["GcReport", "VerifyReport", "collect_garbage", "verify_store"]

_THREADS = max(2, os.cpu_count() or 2)


@dataclass
class VerifyReport:
    """What :func:`verify_store` checked and found."""

    blobs_checked: int = 0
    derived_checked: int = 0
    manifests_checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bad_manifests: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no blob is corrupt or missing and every manifest reads."""
        return not (self.corrupt or self.missing or self.bad_manifests)


@dataclass
class GcReport:
    """What :func:`collect_garbage` removed (or would remove, on a dry run)."""

    referenced: int = 0
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept_recent: int = 0


def _referenced(
    store: SnapshotStore,
    report: VerifyReport | None = None,
    derived: dict[str, tuple[Recipe, str]] | None = None,
) -> dict[str, set[str]]:
    """Stored blob key -> the ``name@vN`` refs that use it.

    Derived chunks count as their bases and masks; ``derived`` (when given)
    collects each derived key with its pieces and one ref using it.
    """
    refs: dict[str, set[str]] = {}
    for name in store.names():
        for version in store.versions(name):
            ref = f"{name}@v{version}"
            try:
                manifest = store.read_manifest(name, version)
                pieces = manifest.get("derived") or {}
                keys = physical_keys(logical_keys(manifest), pieces)
            except (MlopsError, KeyError, TypeError, ValueError) as exc:
                if report is None:
                    raise
                report.bad_manifests.append(f"{ref}: {exc}")
                continue
            if report is not None:
                report.manifests_checked += 1
            for key in keys:
                refs.setdefault(key, set()).add(ref)
            if derived is not None:
                for key, value in pieces.items():
                    derived.setdefault(key, (value, ref))
    return refs


def _check_derived(store: SnapshotStore, key: str, pieces: Recipe) -> str | None:
    """Rebuild a derived chunk from its bases and masks and re-hash it."""
    try:
        needed = physical_keys([key], {key: pieces})
        arrays = {k: decode_blob(store.get_blob(k)) for k in needed}
        actual = content_key(assemble(pieces, arrays))
    except Exception as exc:
        return f"{key}: cannot be rebuilt ({type(exc).__name__})"
    return None if actual == key else f"{key}: rebuilt content hashes to {actual[:16]}"


def _check_blob(store: SnapshotStore, path: str) -> str | None:
    key = path.rsplit("/", 1)[-1]
    try:
        actual = content_key(decode_blob(bytes(store.fs.cat_file(path))))
    except Exception as exc:
        return f"{key}: unreadable ({type(exc).__name__})"
    return None if actual == key else f"{key}: content hashes to {actual[:16]}"


def verify_store(store: SnapshotStore) -> VerifyReport:
    """Re-hash every stored blob and check every manifest's blobs are present."""
    report = VerifyReport()
    derived: dict[str, tuple[Recipe, str]] = {}
    refs = _referenced(store, report, derived)
    files = store.blob_files()
    report.leftovers = [p for p in files if TMP_MARK in p]
    blobs = [p for p in files if TMP_MARK not in p]
    with ThreadPoolExecutor(_THREADS) as pool:
        problems = list(pool.map(lambda p: _check_blob(store, p), blobs))
    report.blobs_checked = len(blobs)
    for problem in filter(None, problems):
        key = problem.split(":", 1)[0]
        used_by = ", ".join(sorted(refs.get(key, ()))) or "no snapshot"
        report.corrupt.append(f"{problem} (used by {used_by})")
    present = {p.rsplit("/", 1)[-1] for p in blobs}
    complete = {k: v for k, v in derived.items() if physical_keys([k], {k: v[0]}) <= present}
    with ThreadPoolExecutor(_THREADS) as pool:
        rebuilt = list(pool.map(lambda k: _check_derived(store, k, complete[k][0]), complete))
    report.derived_checked = len(complete)
    for key, trouble in zip(complete, rebuilt, strict=True):
        if trouble:
            report.corrupt.append(f"{trouble} (used by {complete[key][1]})")
    for key, users in sorted(refs.items()):
        if key not in present:
            report.missing.append(f"{key}: missing (used by {', '.join(sorted(users))})")
    return report


def collect_garbage(
    store: SnapshotStore, *, grace_seconds: float = 3600.0, dry_run: bool = False
) -> GcReport:
    """Delete blobs no manifest references, and leftovers of interrupted writes.

    Files younger than ``grace_seconds`` are kept: they may belong to a snapshot
    being written right now whose manifest is not there yet.
    """
    report = GcReport()
    referenced = _referenced(store)
    report.referenced = len(referenced)
    now = time.time()
    for path in store.blob_files():
        key = path.rsplit("/", 1)[-1]
        if key in referenced:
            continue
        modified = store.modified(path)
        if grace_seconds > 0 and modified is not None and now - modified < grace_seconds:
            report.kept_recent += 1
            continue
        report.bytes_freed += _size(store, path)
        report.removed.append(key)
        if not dry_run:
            store.remove(path)
    return report


def _size(store: SnapshotStore, path: str) -> int:
    try:
        size: Any = store.fs.size(path)
    except (FileNotFoundError, OSError):
        return 0
    return int(size or 0)
