"""One loaded version: the pyfunc model, its input schema and its drift reference.

The server holds exactly one :class:`Loaded` at a time and swaps the whole
object when the alias moves, so a request always scores with one consistent
version.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from ...tracking.api import tracker
from ..loading import load_version, model_copy
from ..monitoring_runs import training_reference

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.entities.model_registry import ModelVersion

__all__ = ["Loaded", "freeze_heap", "load", "load_kept"]


@dataclass(frozen=True)
class Loaded:
    """A version ready to score.

    Attributes
    ----------
    version : ModelVersion
    model : mlflow.pyfunc.PyFuncModel
    input_schema : mlflow.types.Schema or None
    reference_name : str or None
        The training snapshot drift is measured against (``train@v1``).
    reference : pandas.DataFrame or None
        Its rows, restricted to the model's input columns when those are known.
    """

    version: ModelVersion
    model: Any
    input_schema: Any
    reference_name: str | None
    reference: Any
    #: how drift is measured when the version has no training snapshot of its own
    reference_note: str | None = None
    #: the copy of the model folder it was loaded from, kept for worker processes to load
    kept: Path | None = None

    @property
    def number(self) -> str:
        """The version number as text."""
        return str(self.version.version)


def load(
    version: ModelVersion,
    *,
    monitor: bool,
    fallback: Loaded | None = None,
    keep_in: Path | None = None,
) -> Loaded:
    """Load ``version`` (and with ``monitor`` its training snapshot).

    With ``fallback`` (the version served until now), a version without training
    snapshot is still loaded: drift then compares against the fallback's
    snapshot, or is unavailable when it had none (``reference_note`` says which).
    With ``keep_in`` (a folder of this server's own), the model folder is copied
    there first and loaded from the copy, which stays for worker processes
    (:func:`load_kept`): they load it without a tracking client of their own.

    Raises
    ------
    InvalidInput
        With ``monitor`` and no ``fallback``, when the version has no training snapshot.
    """
    t = tracker()
    kept = None
    with model_copy(t.client, version, t.settings.tracking_uri) as path:
        if keep_in is not None:
            path = kept = _keep(path, keep_in / f"model-{version.version}")
        model = load_version(path, "pyfunc")
    schema = model.metadata.get_input_schema()
    name, frame, note = None, None, None
    if monitor:
        from ...data import api as data_api

        try:
            name = training_reference(t.client, version)
        except InvalidInput:
            if fallback is None:
                raise
            name, frame = fallback.reference_name, fallback.reference
            note = (
                f"version {version.version} has no training snapshot: drift compares against "
                f"version {fallback.number}'s ({name})"
                if name
                else f"version {version.version} has no training snapshot: drift is unavailable"
            )
        else:
            frame = _inputs_only(data_api.load(name), schema)
    return Loaded(version, model, schema, name, frame, note, kept)


def load_kept(version: ModelVersion, kept: Path) -> Loaded:
    """Load ``version`` from the copy :func:`load` kept (no drift reference: a worker's)."""
    model = load_version(kept, "pyfunc")
    return Loaded(version, model, model.metadata.get_input_schema(), None, None, None, kept)


def _keep(path: Path, target: Path) -> Path:
    """``path`` copied to ``target`` (whole or not at all: copied aside, then renamed)."""
    if target.exists():
        return target
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(path, partial)
    os.replace(partial, target)
    return target


def _inputs_only(frame: Any, schema: Any) -> Any:
    """The snapshot without its target: keep the model's input columns when it names them."""
    names = list(schema.input_names()) if schema is not None and schema.has_input_names() else []
    keep = [c for c in frame.columns if c in set(names)]
    return frame[keep] if keep else frame


def freeze_heap() -> None:
    """Collect garbage, then keep what survives (libraries, the model) out of later collections.

    A full pass of the cyclic collector visits every tracked object: with MLflow,
    pandas and a model loaded that is hundreds of thousands, a pause of a tenth
    of a second or more that stalls every request in flight. Frozen objects are
    still freed by reference counting; call again after a new version is loaded
    (the previous freeze is undone first, so an old version's cycles are freed).
    """
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()
