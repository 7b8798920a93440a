"""A run's recorded environment (its ``environment/pylock.toml``), read back."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MlopsError
from ..writing.environment_lock import LOCK_ARTIFACT, LOCK_DIGEST_TAG, EnvironmentLock, parse_lock
from .artifact_copy import read_artifact_text

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["read_lock", "source_archives"]


def read_lock(
    client: MlflowClient, run: Run, local_root: Path | None = None
) -> EnvironmentLock | None:
    """The lock recorded on ``run``, or ``None`` for a run recorded without one.

    ``local_root`` is the run's artifact folder when it is on this machine (read in place).
    """
    if LOCK_DIGEST_TAG not in run.data.tags:
        return None  # recorded before locks existed, or by a process that wrote none
    try:
        if local_root is not None:
            text = (local_root / LOCK_ARTIFACT).read_text(encoding="utf-8")
        else:
            text = read_artifact_text(client, run.info.run_id, LOCK_ARTIFACT)
        return parse_lock(text)
    except (OSError, ValueError, KeyError, MlopsError):
        return None


def source_archives(
    client: MlflowClient, run: Run, lock: EnvironmentLock, into: Path
) -> dict[str, Path]:
    """Download the source archives ``run`` kept for its local packages into ``into``.

    Returns distribution name -> archive, named ``<name>-<version>.tar.gz`` as an sdist
    is (installers read the name). An archive that cannot be downloaded, or whose
    sha256 is not the recorded one, is left out: that package then cannot be rebuilt.
    """
    found: dict[str, Path] = {}
    for package in lock.packages:
        artifact = package.source.get("archive")
        if not artifact:
            continue
        sha = str(package.source.get("archive_sha256", ""))
        target = into / "sources" / sha[:16] / f"{package.name}-{package.version}.tar.gz"
        try:
            got = Path(client.download_artifacts(run.info.run_id, artifact, str(into)))
            if hashlib.sha256(got.read_bytes()).hexdigest() != sha:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(got), target)
        except Exception:  # MLflow raises its own and the store's errors: none is fatal here
            continue
        found[package.name] = target
    return found
