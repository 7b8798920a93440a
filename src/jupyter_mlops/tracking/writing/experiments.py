"""Selecting an experiment by name, creating it when missing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import Conflict, InvalidInput, NotFound
from ..mlflow_bridge.store import mlflow_errors

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["check_experiment_name", "experiment_id_for"]


def check_experiment_name(name: str | None) -> str:
    """Return ``name`` stripped, or raise when MLflow would refuse it."""
    name = (name or "").strip()
    if not name or len(name) > 500:
        raise InvalidInput("experiment name must be 1-500 characters, e.g. %mlops experiment churn")
    return name


def experiment_id_for(
    client: MlflowClient, name: str, artifact_root: str | None, *, create: bool
) -> str:
    """Id of experiment ``name``; created under ``artifact_root`` when missing and ``create``.

    Raises
    ------
    Conflict
        When the experiment is deleted (MLflow keeps its name reserved).
    NotFound
        When it does not exist and ``create`` is false.
    """
    with mlflow_errors(f"open experiment {name!r}"):
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                raise Conflict(
                    f"experiment {name!r} is deleted; restore it in MLflow or pick another name"
                )
            return str(exp.experiment_id)
        if not create:
            raise NotFound(f"no experiment named {name!r}")
        return _create(client, name, artifact_root)


def _create(client: MlflowClient, name: str, artifact_root: str | None) -> str:
    location = Path(artifact_root).as_uri() if artifact_root else None
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except Exception:
        # Another process may have created it between our lookup and create.
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)
