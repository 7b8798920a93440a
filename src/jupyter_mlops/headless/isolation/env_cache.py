"""The cache of isolated environments: one virtual environment per recorded lock.

Each lives in ``$XDG_CACHE_HOME/jupyter-mlops/environments/<key>/`` (``~/.cache`` when
the variable is unset), where ``key`` is the lock's digest (plus a digest of the local
sources it was built from, when it has any). An environment is complete once its
``mlops-env.json`` exists; building holds ``<key>.lock``, so two reproductions of the
same lock build it once and a clear never removes one being built. Wheels built from local
checkouts are kept beside them, in ``wheels/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...atomic_files import write_atomic

__all__ = [
    "CachedEnv",
    "cache_root",
    "clear_cache",
    "env_lock",
    "list_cached",
    "marker",
    "wheel_root",
]

#: the file that marks an environment complete (what was installed, when)
MARKER = "mlops-env.json"


def cache_root() -> Path:
    """The folder holding the isolated environments."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jupyter-mlops" / "environments"


def wheel_root() -> Path:
    """The folder holding the wheels built from local checkouts (``local_wheels.py``)."""
    return cache_root().parent / "wheels"


@dataclass(frozen=True)
class CachedEnv:
    """One isolated environment of the cache."""

    key: str
    path: Path
    #: bytes on disk, each file once (much of it linked from uv's cache)
    size_bytes: int
    last_used: float
    python: str
    distributions: int
    #: names of the distributions built without (``--allow-missing``)
    skipped: tuple[str, ...]
    #: bytes only this environment holds: what removing it frees (the rest is uv's cache)
    own_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``jupyter mlops env cache --json``)."""
        return {
            "key": self.key,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "own_bytes": self.own_bytes,
            "last_used": self.last_used,
            "python": self.python,
            "distributions": self.distributions,
            "skipped": list(self.skipped),
        }


def marker(path: Path) -> dict[str, Any] | None:
    """What the complete environment at ``path`` holds, or ``None`` while it is not complete."""
    try:
        doc = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def touch(path: Path) -> None:
    """Mark the environment at ``path`` used now (the cache lists its last use)."""
    with contextlib.suppress(OSError):
        os.utime(path / MARKER)


@contextlib.contextmanager
def env_lock(key: str) -> Iterator[None]:
    """Hold the build lock of environment ``key`` (other processes wait)."""
    from filelock import FileLock

    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / f"{key}.lock"):
        yield


def _sizes(path: Path) -> tuple[int, int]:
    """Bytes on disk under ``path`` (each file once), and those no link outside it shares.

    uv installs by hard-linking files from its own cache: those bytes stay on disk when
    the environment is removed, so only files whose every link is inside count as its own.
    """
    files: dict[tuple[int, int], list[int]] = {}  # inode -> [blocks, links, links seen here]
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            entry = files.setdefault((st.st_dev, st.st_ino), [st.st_blocks * 512, st.st_nlink, 0])
            entry[2] += 1
    total = sum(blocks for blocks, _, _ in files.values())
    own = sum(blocks for blocks, links, here in files.values() if here >= links)
    return total, own


def list_cached() -> list[CachedEnv]:
    """The complete environments of the cache, most recently used first."""
    root = cache_root()
    found = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        doc = marker(path) if path.is_dir() else None
        if doc is None:
            continue
        size, own = _sizes(path)
        found.append(
            CachedEnv(
                key=path.name,
                path=path,
                size_bytes=size,
                own_bytes=own,
                last_used=(path / MARKER).stat().st_mtime,
                python=str(doc.get("python", "")),
                distributions=int(doc.get("installed", 0)),
                skipped=tuple(str(u.get("name", u)) for u in doc.get("skipped", [])),
            )
        )
    return sorted(found, key=lambda e: e.last_used, reverse=True)


def clear_cache() -> list[str]:
    """Remove every cached environment (waiting for one being built) and the local wheels.

    Returns the keys of the environments removed.
    """
    root = cache_root()
    removed = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if not path.is_dir():
            continue
        with env_lock(path.name):
            shutil.rmtree(path, ignore_errors=True)
        (root / f"{path.name}.lock").unlink(missing_ok=True)
        removed.append(path.name)
    shutil.rmtree(wheel_root(), ignore_errors=True)
    return removed


def write_marker(path: Path, doc: dict[str, Any]) -> None:
    """Mark the environment at ``path`` complete (written last, atomically)."""
    write_atomic(path / MARKER, json.dumps({**doc, "built": time.time()}, indent=2))
