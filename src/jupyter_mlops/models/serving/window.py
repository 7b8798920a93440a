"""The last N scored rows with their predictions, appended on the request path.

Appending is a deque append (no copy, no lock); the background thread takes a
snapshot with :meth:`Window.frame` and drops chunks older than the window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["Window"]


class Window:
    """Chunks of ``(rows, predictions)`` holding at least the last ``size`` rows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._chunks: deque[tuple[Any, Any]] = deque()
        self.generation = 0  # bumped on every append: "anything new since?"

    def append(self, rows: Any, predictions: Any) -> None:
        """Add one request's parsed input and its predictions."""
        self._chunks.append((rows, predictions))
        self.generation += 1

    def clear(self) -> None:
        """Forget every row (a new version is served)."""
        self._chunks.clear()
        self.generation += 1

    def frame(self) -> tuple[Any, Any]:
        """The last ``size`` rows as a DataFrame (or None) and their predictions."""
        import numpy as np
        import pandas as pd

        chunks = list(self._chunks)
        self._trim(chunks)
        frames = [r for r, _ in chunks if isinstance(r, pd.DataFrame)]
        preds = [np.asarray(p).reshape(len(p), -1)[:, 0] for _, p in chunks if _sized(p)]
        rows = pd.concat(frames, ignore_index=True).tail(self.size) if frames else None
        predictions = np.concatenate(preds)[-self.size :] if preds else np.array([])
        return rows, predictions

    def _trim(self, chunks: list[tuple[Any, Any]]) -> None:
        """Drop the oldest chunks the window no longer needs (appends may run meanwhile)."""
        kept, total = 0, 0
        for rows, _ in reversed(chunks):
            total += len(rows) if hasattr(rows, "__len__") else 1
            kept += 1
            if total >= self.size:
                break
        for _ in range(len(chunks) - kept):
            self._chunks.popleft()
        del chunks[: len(chunks) - kept]


def _sized(predictions: Any) -> bool:
    try:
        return len(predictions) > 0
    except TypeError:
        return False
