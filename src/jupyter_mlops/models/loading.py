"""Loading a registered version back: the native object (estimator or wrapped object) or pyfunc."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ..errors import InvalidInput
from ..tracking.mlflow_bridge.store import mlflow_errors
from ..tracking.reading.artifact_copy import private_folder
from .quiet import quiet

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["KINDS", "artifact_location", "load_version", "model_copy"]

#: what ``load_model`` can return
KINDS = ("native", "pyfunc")


def artifact_location(client: MlflowClient, version: ModelVersion) -> str:
    """Where the version's MLmodel folder lives (a URI)."""
    source = str(version.source)
    if source.startswith("models:/m-"):  # registered by MLflow itself: source is the LoggedModel
        model_id = version.model_id or source.removeprefix("models:/")
        with mlflow_errors(f"read logged model {model_id}"):
            return str(client.get_logged_model(model_id).artifact_location)
    return source


@contextlib.contextmanager
def model_copy(client: MlflowClient, version: ModelVersion, tracking_uri: str) -> Iterator[Path]:
    """The version's model folder for the duration of the block.

    A local store's folder is used in place; a remote one is downloaded into a
    private folder of this call, removed when the block ends (load the model inside it).
    """
    location = artifact_location(client, version)
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        yield Path(unquote(parsed.path))
        return
    from mlflow.artifacts import download_artifacts

    with private_folder("mlops-model-") as dst:
        with mlflow_errors(f"download {version.name}/{version.version}"):
            got = download_artifacts(
                artifact_uri=location, dst_path=str(dst), tracking_uri=tracking_uri
            )
        yield Path(got)


def load_version(path: Path, kind: str = "native") -> Any:
    """Load the model at ``path``; ``native`` gives back what was registered when possible."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    import yaml

    flavors = yaml.safe_load((path / "MLmodel").read_text()).get("flavors", {})
    if kind == "native" and "sklearn" in flavors:
        import mlflow.sklearn

        with mlflow_errors(f"load model from {path}"):
            return mlflow.sklearn.load_model(str(path))
    import mlflow.pyfunc

    with mlflow_errors(f"load model from {path}"), quiet():
        loaded = mlflow.pyfunc.load_model(str(path))
    if kind == "native":
        from .wrapper import PredictWrapper

        try:
            inner = loaded.unwrap_python_model()
        except Exception:  # not a python_model flavor: keep the pyfunc
            inner = None
        if isinstance(inner, PredictWrapper):
            return inner.obj
    return loaded
