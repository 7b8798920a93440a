"""Input examples and signatures: a few rows of a snapshot or variable, checked by predicting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

__all__ = ["Example", "from_object", "from_snapshot"]

#: rows kept as the logged input example
EXAMPLE_ROWS = 5


@dataclass
class Example:
    """An input example, the signature inferred from it and the snapshot it came from."""

    rows: Any
    signature: Any
    snapshot: dict[str, Any] | None = None


def _head(data: Any, model: Any) -> Any:
    names = getattr(model, "feature_names_in_", None)
    if names is not None and hasattr(data, "columns"):
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise InvalidInput(
                f"the example lacks column(s) {', '.join(map(str, missing[:5]))} the model was "
                "trained on; pass the training features (--data SNAPSHOT or --example VAR)"
            )
        data = data[list(names)]
    if hasattr(data, "iloc"):
        return data.iloc[:EXAMPLE_ROWS]
    try:
        return data[:EXAMPLE_ROWS]
    except TypeError:
        raise InvalidInput(
            f"cannot take rows from a {type(data).__name__} example; pass a DataFrame, "
            "array or list of rows"
        ) from None


def from_object(model: Any, data: Any, snapshot: dict[str, Any] | None = None) -> Example:
    """Cut ``data`` to a few rows of the model's features and infer the signature by predicting."""
    from mlflow.models import infer_signature

    rows = _head(data, model)
    try:
        output = model.predict(rows)
    except Exception as exc:  # the user's model; report it in one line
        raise InvalidInput(
            f"model.predict failed on the input example ({type(exc).__name__}: {exc}); "
            "pass rows shaped like the training features"
        ) from None
    return Example(rows, infer_signature(rows, output), snapshot)


def from_snapshot(model: Any, ref: Any) -> Example:
    """Load snapshot ``ref`` (``train``, ``train@v3`` or a SnapshotRef) and take the example.

    The snapshot pinned by digest (``name@vN``) is what lineage and monitoring use later.
    """
    from ..data import api as data_api

    text = ref.ref if isinstance(ref, data_api.SnapshotRef) else str(ref)
    manifest = data_api.info(text)
    pinned = f"{manifest['name']}@v{manifest['version']}"
    frame = data_api.load(pinned)
    info = {
        "ref": pinned,
        "name": manifest["name"],
        "version": int(manifest["version"]),
        "digest": manifest["digest"],
        "manifest": manifest,
    }
    return from_object(model, frame, info)
