"""Building a version's model card and storing it with the version's files."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ...tracking.mlflow_bridge.store import mlflow_errors
from ..lineage import PREFIX
from .facts import gather
from .render import to_html, to_markdown

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["CARD_ERROR_TAG", "HTML_NAME", "MARKDOWN_NAME", "ModelCard", "build_card", "store_card"]

MARKDOWN_NAME = "model_card.md"
HTML_NAME = "model_card.html"
#: set on a version whose card could not be stored (the registration or promotion stands)
CARD_ERROR_TAG = "mlops.card.error"


@dataclass
class ModelCard:
    """A generated card: ``markdown`` (``model_card.md``), ``html`` and the ``facts`` behind it."""

    name: str
    version: str
    markdown: str
    facts: dict[str, Any] = field(repr=False)

    @property
    def html(self) -> str:
        """The card as a standalone HTML page."""
        return to_html(self.markdown)

    def _repr_markdown_(self) -> str:
        return self.markdown.split("---\n", 2)[2] if self.markdown.startswith("---\n") else ""

    def __str__(self) -> str:
        return self.markdown


def build_card(client: MlflowClient, version: ModelVersion, tracking_uri: str) -> ModelCard:
    """Generate the card of ``version`` from its lineage and the written sections."""
    facts = gather(client, version, tracking_uri)
    return ModelCard(version.name, str(version.version), to_markdown(facts), facts)


def store_card(client: MlflowClient, version: ModelVersion, tracking_uri: str) -> ModelCard | None:
    """Regenerate the card and write ``model_card.md`` and ``model_card.html`` into the version.

    The files go into the version's model folder (its MLflow LoggedModel), beside
    ``MLmodel``. A card that cannot be made never undoes the registration or promotion
    that asked for it: the version gets tag ``mlops.card.error`` saying why.
    """
    model_id = version.tags.get(PREFIX + "model_id")
    try:
        with mlflow_errors(f"read {version.name}/{version.version}"):
            fresh = client.get_model_version(version.name, str(version.version))
        card = build_card(client, fresh, tracking_uri)
        if not model_id:
            raise MlopsError("the version has no model folder of ours to write the card into")
        with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp:
            (Path(tmp) / MARKDOWN_NAME).write_text(card.markdown, encoding="utf-8")
            (Path(tmp) / HTML_NAME).write_text(card.html, encoding="utf-8")
            with mlflow_errors(f"store the model card of {version.name}/{version.version}"):
                client.log_model_artifacts(model_id, tmp)
    except MlopsError as exc:
        _note(client, version, str(exc))
        return None
    if CARD_ERROR_TAG in fresh.tags:
        _note(client, version, None)
    return card


def _note(client: MlflowClient, version: ModelVersion, problem: str | None) -> None:
    try:
        if problem is None:
            client.delete_model_version_tag(version.name, str(version.version), CARD_ERROR_TAG)
        else:
            client.set_model_version_tag(
                version.name, str(version.version), CARD_ERROR_TAG, problem[:500]
            )
    except Exception:  # the store is down: the registration or promotion still stands
        return
