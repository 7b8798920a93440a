"""What a process that owns one run writes to it: tags, artifacts, its end.

A headless execution creates its run, beats its heartbeat, logs the notebooks it
produced and ends the run. :class:`RunWriter` is that much of a store; it is met
by MLflow's client (:class:`MlflowRunWriter`) and, for the embedded SQLite store,
by ``mlflow_tables.run_writes.SqliteRunWriter``, which needs no MLflow import at all.
Both leave the very same rows and files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["CreatedRun", "MlflowRunWriter", "RunWriter"]


@dataclass(frozen=True)
class CreatedRun:
    """The identity of a run just created."""

    run_id: str
    experiment_id: str
    run_name: str


class RunWriter(Protocol):
    """Creates runs and writes to them (the names are :class:`mlflow.MlflowClient`'s)."""

    def create_run(
        self,
        experiment_id: str,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> CreatedRun:
        """Create a RUNNING run with ``tags`` and ``params``."""

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        """Set one tag."""

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set several tags at once."""

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a local file into the run's artifacts, under ``artifact_path``."""

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` (UTF-8) as the artifact ``artifact_file``."""

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with ``status`` (FINISHED, FAILED or KILLED) now."""

    def artifact_uri(self, run_id: str) -> str:
        """The root URI of the run's artifacts."""


class MlflowRunWriter:
    """:class:`RunWriter` through an :class:`mlflow.MlflowClient` (any store MLflow reaches)."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def create_run(
        self,
        experiment_id: str,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> CreatedRun:
        """Create a RUNNING run, then log ``params`` (MLflow's client has no single call)."""
        from mlflow.entities import Param

        from ..mlflow_bridge.store import mlflow_errors

        with mlflow_errors("start a run"):
            run = self.client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
            if params:
                batch = [Param(k, v) for k, v in params.items()]
                self.client.log_batch(run.info.run_id, params=batch, synchronous=True)
        return CreatedRun(run.info.run_id, str(run.info.experiment_id), run.info.run_name or "")

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        """Set one tag."""
        self.client.set_tag(run_id, key, value)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a local file into the run's artifacts, under ``artifact_path``."""
        self.client.log_artifact(run_id, local_path, artifact_path=artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` as the artifact ``artifact_file``."""
        self.client.log_text(run_id, text, artifact_file)

    def set_terminated(self, run_id: str, status: str) -> None:
        """End the run with ``status`` now."""
        self.client.set_terminated(run_id, status=status)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set several tags in one batch."""
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def artifact_uri(self, run_id: str) -> str:
        """The root URI of the run's artifacts, as the store reports it."""
        return str(self.client.get_run(run_id).info.artifact_uri)
