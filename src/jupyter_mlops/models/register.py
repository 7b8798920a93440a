"""Registering an in-memory model: save with its flavor, log to the run, version it with lineage.

The MLflow 3 way, through the client only (no global tracking URI): a
LoggedModel linked to the source run holds the artifacts, and the registered
version points at it (``models:/<model_id>``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..tracking.mlflow_bridge.store import mlflow_errors
from .examples import Example
from .flavors import Flavor
from .lineage import PREFIX, lineage_tags
from .quiet import quiet

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["RegisteredVersion", "check_name", "create_version"]


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version just registered.

    Attributes
    ----------
    name, version : str
        Registered model name and the new version number.
    run_id : str
        Source run (params, metrics, inputs).
    model_id : str
        MLflow LoggedModel holding the artifacts.
    flavor : str
        ``sklearn`` or ``pyfunc``.
    lineage : dict
        The ``mlops.lineage.*`` tags set on the version.
    alias : str or None
        Alias given at registration.
    """

    name: str
    version: str
    run_id: str
    model_id: str
    flavor: str
    lineage: dict[str, str] = field(default_factory=dict)
    alias: str | None = None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``, accepted by every MLflow loader."""
        return f"models:/{self.name}/{self.version}"

    def __str__(self) -> str:
        alias = f" @{self.alias}" if self.alias else ""
        where = f"({self.flavor}, run {self.run_id})"
        return f"registered {self.name} version {self.version}{alias} {where}"


def check_name(name: str) -> str:
    """Return a stripped model name, refusing empty or path-like ones."""
    name = (name or "").strip()
    if not name or "/" in name or "@" in name or ":" in name or len(name) > 250:
        raise InvalidInput(
            f"bad model name {name!r}: use 1-250 characters without '/', '@' or ':', "
            "e.g. --name churn"
        )
    return name


def _ensure_registered(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise


def create_version(
    client: MlflowClient,
    model: Any,
    name: str,
    flavor: Flavor,
    example: Example | None,
    *,
    run_id: str,
    experiment_id: str,
    cell_source: str | None = None,
    description: str | None = None,
) -> RegisteredVersion:
    """Save ``model`` into a LoggedModel of run ``run_id`` and register it as a new version."""
    from mlflow.entities import LoggedModelOutput
    from mlflow.models import Model

    training = example.snapshot if example else None
    tags = lineage_tags(
        client, run_id, cell_source=cell_source, flavor=flavor.name, training=training
    )
    with mlflow_errors(f"log model {name!r} to run {run_id}"):
        logged = client.create_logged_model(
            experiment_id, name=name, source_run_id=run_id, tags={"mlops.flavor": flavor.name}
        )
    try:
        with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
            path = str(Path(tmp) / "model")
            meta = Model(
                artifact_path=logged.artifact_location,
                model_uuid=logged.model_id,
                run_id=run_id,
                model_id=logged.model_id,
            )
            kw: dict[str, Any] = {"mlflow_model": meta}
            if example is not None:
                kw.update(signature=example.signature, input_example=example.rows)
            with quiet():
                flavor.save(model, path, **kw)
            with mlflow_errors(f"upload model {name!r}"):
                client.log_model_artifacts(logged.model_id, path)
        with mlflow_errors(f"register model {name!r}"):
            client.finalize_logged_model(logged.model_id, "READY")
            client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
            _ensure_registered(client, name)
            mv = client.create_model_version(
                name,
                source=_version_source(client, logged),
                run_id=run_id,
                tags={**tags, PREFIX + "model_id": logged.model_id},
                description=description,
                model_id=logged.model_id if _is_server(client) else None,
            )
            _link(client, logged.model_id, name, str(mv.version))
    except BaseException:
        _discard(client, logged.model_id)
        raise
    return RegisteredVersion(
        name, str(mv.version), run_id, logged.model_id, flavor.name, dict(mv.tags)
    )


def _is_server(client: MlflowClient) -> bool:
    return str(client.tracking_uri).startswith(("http://", "https://"))


def _version_source(client: MlflowClient, logged: Any) -> str:
    """Where the version's files are, in the form the store accepts.

    A tracking server only accepts ``models:/<id>`` (it refuses a proxied
    ``mlflow-artifacts:`` location that is not under the run). An embedded SQL store
    resolves ``models:/`` through the process-global tracking URI rather than this
    client's, so it gets the artifact location; the link is also kept by tags.
    """
    return f"models:/{logged.model_id}" if _is_server(client) else str(logged.artifact_location)


def _link(client: MlflowClient, model_id: str, name: str, version: str) -> None:
    """Tag the LoggedModel with its registered versions, as MLflow's own registration does."""
    key = "mlflow.modelVersions"
    existing = json.loads(client.get_logged_model(model_id).tags.get(key) or "[]")
    if any(e.get("name") == name and str(e.get("version")) == version for e in existing):
        return  # a tracking server records the link itself when given model_id
    entries = [*existing, {"name": name, "version": version}]
    client.set_logged_model_tags(model_id, {key: json.dumps(entries)})


def _discard(client: MlflowClient, model_id: str) -> None:
    try:
        client.finalize_logged_model(model_id, "FAILED")
        client.delete_logged_model(model_id)
    except Exception:  # best effort; the original error matters more
        return
