"""What the writer and the deriving of chunks exchange: the new version, the derivation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .selection import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["Derivation", "NewVersion"]


@dataclass
class NewVersion:
    """What the writer knows of the version being written."""

    names: list[str]
    types: list[str]
    storage: list[pa.Array]
    keys: list[list[str]]
    starts: list[int]
    ends: list[int]
    data_columns: list[int]
    hashes: np.ndarray
    #: per column, what its chunks hold (``STORED_VALUES`` for a categorical's values, else "")
    stored: list[str] = field(default_factory=list)


@dataclass
class Derivation:
    """Derived chunks for the manifest and the blobs (residuals, masks) they need."""

    derived: dict[str, Recipe] = field(default_factory=dict)
    blobs: dict[str, pa.Array] = field(default_factory=dict)
    #: blobs already encoded while weighing a derivation, by key
    encoded: dict[str, bytes] = field(default_factory=dict)
