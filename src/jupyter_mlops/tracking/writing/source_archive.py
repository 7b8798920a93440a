"""Local packages with uncommitted changes, kept as source archives beside a run's lock.

A distribution installed from a local folder (the user's own package, often editable)
is recorded with that checkout's commit; when the checkout has uncommitted changes (or
is no git checkout), no commit names what ran, so its source goes to the run as
``environment/sources/<name>-<digest>.tar.gz``: an sdist-shaped archive (one top folder)
of the files git does not ignore, which uv installs as it would any source archive.
Archives are cached by the files' sizes and mtimes, so repeated runs do not pack again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...atomic_files import write_atomic

__all__ = ["SOURCES_DIR", "fresh_sources"]

#: where a run keeps the source archives of its local packages with uncommitted changes
SOURCES_DIR = "environment/sources"
#: a folder over this many bytes is not archived (the lock says so instead)
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
_SKIPPED_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache", "build"}


def fresh_sources(
    packages: Sequence[tuple[str, str, dict[str, Any]]], cache: Path
) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """Each ``(name, version, source)`` with a local folder's git state read now.

    Returns the sources, in order, and the archives to log (``{artifact path: file}``).
    """
    from .git_state import git_info

    sources = []
    files: dict[str, Path] = {}
    for name, version, source in packages:
        if source.get("kind") != "directory" or not Path(source["path"]).is_dir():
            sources.append(source)
            continue
        path = Path(source["path"])
        git = git_info(path)
        fresh = {k: v for k, v in source.items() if k not in ("commit", "dirty")}
        if git:
            fresh.update(commit=git["commit"], dirty=git["dirty"] == "True")
        if not git or fresh["dirty"]:
            made = _archive(f"{name}-{version}", path, bool(git), cache)
            if made is not None:
                archive, sha = made
                artifact = f"{SOURCES_DIR}/{archive.name}"  # where the run keeps it
                fresh.update(archive=artifact, archive_sha256=sha)
                files[artifact] = archive
        sources.append(fresh)
    return sources, files


def _kept_dir(name: str) -> bool:
    """Whether a folder's files belong in a source archive.

    Hidden folders are left out: among them a project's embedded store (``.mlops/``), whose
    SQLite files must never be opened by anything but SQLite while runs write to them (closing
    any other descriptor of a database file drops the process's locks on it).
    """
    return not name.startswith(".") and name not in _SKIPPED_DIRS and not name.endswith(".egg-info")


def _in_hidden_dir(name: str) -> bool:
    return any(part.startswith(".") for part in Path(name).parts[:-1])


def _listing(path: Path, in_git: bool) -> list[str]:
    if in_git:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=path,
            capture_output=True,
            check=False,
        )
        if out.returncode == 0:
            listed = (f for f in out.stdout.decode().split("\0") if f and (path / f).is_file())
            # git's ignore rules choose the rest; a hidden folder (the store) never goes in
            return sorted(f for f in listed if not _in_hidden_dir(f))
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if _kept_dir(d))
        found += [os.path.relpath(os.path.join(folder, n), path) for n in names]
    return sorted(found)


def _archive(top: str, path: Path, in_git: bool, cache: Path) -> tuple[Path, str] | None:
    """The archive of ``path``'s files and its sha256 (cached while they do not change)."""
    files = _listing(path, in_git)
    stats = []
    for name in files:
        st = (path / name).stat()
        stats.append((name, st.st_size, st.st_mtime_ns))
    if sum(s[1] for s in stats) > MAX_ARCHIVE_BYTES:
        return None
    key = hashlib.sha256(json.dumps([str(path), stats]).encode()).hexdigest()[:24]
    index = cache / "source-archives" / f"{key}.json"
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
        if Path(doc["archive"]).is_file():
            return Path(doc["archive"]), str(doc["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for name in files:
            info = tar.gettarinfo(str(path / name), arcname=f"{top}/{name}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path / name, "rb") as handle:
                tar.addfile(info, handle)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    out = cache / "source-archives" / f"{top}-{sha[:16]}.tar.gz"
    try:
        write_atomic(out, data)
        write_atomic(index, json.dumps({"archive": str(out), "sha256": sha}))
    except OSError:
        return None
    return out, sha
