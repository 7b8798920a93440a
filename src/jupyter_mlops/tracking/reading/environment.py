"""A run's recorded environment (its ``environment/pylock.toml``), read back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MlopsError
from ..writing.environment_lock import LOCK_ARTIFACT, LOCK_DIGEST_TAG, EnvironmentLock, parse_lock
from .artifact_copy import read_artifact_text

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["read_lock"]


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
