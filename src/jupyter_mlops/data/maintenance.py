"""Keeping the store honest: ``verify`` re-hashes every blob, ``gc`` removes unreferenced ones."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import MlopsError
from .codec import decode_blob
from .hashing import blob_key, canonical
from .store import TMP_MARK, SnapshotStore

__all__ = ["GcReport", "VerifyReport", "collect_garbage", "verify_store"]

_THREADS = max(2, os.cpu_count() or 2)


@dataclass
class VerifyReport:
    """What :func:`verify_store` checked and found."""

    blobs_checked: int = 0
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


def _referenced(store: SnapshotStore, report: VerifyReport | None = None) -> dict[str, set[str]]:
    """blob key -> the ``name@vN`` refs that use it."""
    refs: dict[str, set[str]] = {}
    for name in store.names():
        for version in store.versions(name):
            ref = f"{name}@v{version}"
            try:
                manifest = store.read_manifest(name, version)
                keys = [k for c in manifest["columns"] for k in (*c["blobs"], c["dictionary"]) if k]
            except (MlopsError, KeyError, TypeError) as exc:
                if report is None:
                    raise
                report.bad_manifests.append(f"{ref}: {exc}")
                continue
            if report is not None:
                report.manifests_checked += 1
            for key in keys:
                refs.setdefault(key, set()).add(ref)
    return refs


def _check_blob(store: SnapshotStore, path: str) -> str | None:
    key = path.rsplit("/", 1)[-1]
    try:
        array = decode_blob(bytes(store.fs.cat_file(path)))
        canon = canonical(array)
        actual = blob_key(canon.parts(0, canon.length))
    except Exception as exc:
        return f"{key}: unreadable ({type(exc).__name__})"
    return None if actual == key else f"{key}: content hashes to {actual[:16]}"


def verify_store(store: SnapshotStore) -> VerifyReport:
    """Re-hash every stored blob and check every manifest's blobs are present."""
    report = VerifyReport()
    refs = _referenced(store, report)
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
