"""Model references typed by people: ``name@alias``, ``name/3`` or ``name`` (latest version)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInput, NotFound
from ..tracking.mlflow_bridge.store import mlflow_errors

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = ["ModelRef", "check_alias", "parse_ref", "quote", "registered", "resolve"]

FORM = "NAME@ALIAS, NAME/VERSION or NAME (latest), e.g. churn@production or churn/3"
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference; at most one of ``version`` and ``alias`` is set."""

    name: str
    version: str | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version else self.name


def check_alias(alias: str) -> str:
    """Return ``alias`` when MLflow accepts it as an alias, else raise :class:`InvalidInput`."""
    if not _ALIAS.match(alias or "") or re.fullmatch(r"[vV]\d+|latest", alias):
        raise InvalidInput(
            f"bad alias {alias!r}: use letters, digits, '_' or '-', starting with a letter, "
            "and not 'latest' or v<number> (reserved), e.g. --alias production"
        )
    return alias


def parse_ref(text: str) -> ModelRef:
    """Parse ``name@alias``, ``name/3`` or ``name`` (an optional ``models:/`` prefix is allowed).

    Examples
    --------
    >>> parse_ref("churn@production")
    ModelRef(name='churn', version=None, alias='production')
    >>> parse_ref("models:/churn/3")
    ModelRef(name='churn', version='3', alias=None)
    """
    raw = (text or "").strip().removeprefix("models:/")
    if "@" in raw:
        name, _, alias = raw.partition("@")
        if name and "/" not in name and alias.strip():
            return ModelRef(name.strip(), alias=check_alias(alias.strip()))
    elif "/" in raw:
        name, _, version = raw.rpartition("/")
        if name and "/" not in name and version.isdigit() and int(version) > 0:
            return ModelRef(name.strip(), version=str(int(version)))
    elif raw:
        return ModelRef(raw)
    raise InvalidInput(f"bad model reference {text!r}; use {FORM}")


def resolve(client: MlflowClient, ref: ModelRef | str) -> ModelVersion:
    """Return the registered version ``ref`` points to, or raise :class:`NotFound`."""
    from mlflow.exceptions import MlflowException

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    try:  # one query on the happy path; the slower diagnosis only when it fails
        if ref.alias:
            return client.get_model_version_by_alias(ref.name, ref.alias)
        if ref.version:
            return client.get_model_version(ref.name, ref.version)
    except MlflowException:
        pass
    with mlflow_errors(f"find model {ref.name!r}"):
        model = registered(client, ref.name)
    if ref.alias:
        if ref.alias not in model.aliases:
            known = ", ".join(sorted(model.aliases)) or "none yet"
            raise NotFound(
                f"model {ref.name!r} has no alias {ref.alias!r} (aliases: {known}); "
                f"set one with %mlops promote {ref.name} VERSION --alias {ref.alias}"
            )
        version = model.aliases[ref.alias]
    elif ref.version:
        version = ref.version
    else:
        version = _latest_version(client, ref.name)
    try:
        with mlflow_errors(f"read {ref}"):
            return client.get_model_version(ref.name, str(version))
    except NotFound:
        raise NotFound(
            f"model {ref.name!r} has no version {version}; see %mlops models {ref.name}"
        ) from None


def registered(client: MlflowClient, name: str) -> RegisteredModel:
    """Return registered model ``name`` or raise :class:`NotFound` listing the known ones."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    known = [m.name for m in client.search_registered_models(max_results=50)]
    listing = ", ".join(sorted(known)) or "none registered yet"
    raise NotFound(
        f"no registered model named {name!r} (models: {listing}); "
        f"register one with %mlops register VAR --name {name}"
    )


def _latest_version(client: MlflowClient, name: str) -> str:
    with mlflow_errors(f"list versions of {name!r}"):
        versions = client.search_model_versions(f"name = '{quote(name)}'")
    if not versions:
        raise NotFound(f"model {name!r} has no versions yet")
    return str(max(int(v.version) for v in versions))


def quote(name: str) -> str:
    """Escape ``name`` for a quoted string in an MLflow search filter."""
    return name.replace("'", "\\'")
