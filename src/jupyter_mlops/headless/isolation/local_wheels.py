"""Wheels of the local packages a lock installs from a folder, built once per commit.

uv builds a local folder again each time it is named in an install (its own cache of folder
builds follows ``pyproject.toml``'s modification time), and an editable build may run the
package's own build hooks in the user's checkout (a front-end build, say). A git checkout
without uncommitted changes is described by its commit, so the wheel built from it is kept
under ``<cache>/jupyter-mlops/wheels/<digest>/`` (the digest of name, version, folder and
commit) and installed from there by every later environment, which uv then links from its
own cache like any other wheel. A folder with uncommitted changes, or not under git, is left
to uv as before.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .env_cache import wheel_root
from .uv_env import UvEnv

__all__ = ["LocalSource", "cached_wheel"]


@dataclass(frozen=True)
class LocalSource:
    """A local package's folder as it is now: a git checkout at ``commit``, nothing uncommitted."""

    name: str
    version: str
    path: Path
    commit: str

    def digest(self) -> str:
        """The wheel's cache key."""
        doc = [self.name, self.version, str(self.path), self.commit]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:24]


def cached_wheel(build: UvEnv, source: LocalSource) -> tuple[Path | None, str]:
    """The wheel of ``source``, built now by ``uv build`` unless an earlier build left one.

    Returns the wheel (``None`` when the build failed: uv then builds the folder itself and
    reports why) and a line for the report saying how it was had.
    """
    from filelock import FileLock

    folder = wheel_root() / source.digest()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.parent / f"{folder.name}.lock"):
        found = sorted(folder.glob("*.whl"))
        at = f"{source.name} wheel of {source.commit[:12]}"
        if found:
            return found[0], f"Reused the {at} built earlier"
        started = time.monotonic()
        wheel = _build(build, source, folder)
    if wheel is None:
        return None, f"Could not build the {at}: uv installs the folder"
    return wheel, f"Built the {at} in {time.monotonic() - started:.2f}s, kept for later"


def _build(build: UvEnv, source: LocalSource, folder: Path) -> Path | None:
    """Build into a scratch folder, then move it in whole: a cached folder is always complete."""
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder.parent) as tmp:
        wheels = build.wheel(source.path, Path(tmp))
        if len(wheels) != 1:
            return None
        shutil.rmtree(folder, ignore_errors=True)
        Path(tmp, ".gitignore").unlink(missing_ok=True)
        Path(tmp).rename(folder)
        Path(tmp).mkdir()  # the context manager removes its folder
    return folder / wheels[0].name
