"""Answers of papermill's notebook inspection, kept on disk between processes.

Reading what a ``parameters`` cell declares needs papermill, and importing it
costs a cold command most of a second; the answer depends only on the cell's
text, the kernel, the language and papermill's version. Answers are files named
by the hash of all that (plus this package's version) under
``$XDG_CACHE_HOME/jupyter-mlops/inspection`` (default ``~/.cache``), written
atomically; a file that cannot be read or written is simply ignored, and the
answer computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Hashable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from ..atomic_files import write_atomic

__all__ = ["cache_folder", "remembered"]

T = TypeVar("T")
_memory: dict[str, Any] = {}
_lock = threading.Lock()


def cache_folder() -> Path:
    """Where answers are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jupyter-mlops" / "inspection"


def _versions() -> tuple[str, str]:
    from .._version import __version__

    try:
        papermill = metadata.version("papermill")
    except metadata.PackageNotFoundError:
        papermill = "none"
    return __version__, papermill


def _digest(key: Hashable) -> str:
    text = json.dumps([_versions(), key], default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remembered(
    key: Hashable,
    compute: Callable[[], T],
    *,
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
) -> T:
    """``compute()``, or its answer kept for ``key`` by an earlier call of any process.

    Parameters
    ----------
    key : hashable
        What the answer depends on (JSON-serializable); versions are added to it.
    compute : callable
        Computes the answer when none is kept.
    encode, decode : callable
        Turn the answer into JSON-ready data and back.
    """
    digest = _digest(key)
    with _lock:
        if digest in _memory:
            return decode(_memory[digest])
    path = cache_folder() / f"{digest}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))["answer"]
    except (OSError, ValueError, KeyError, TypeError):
        answer = compute()
        doc = encode(answer)
        _store(path, doc)
    with _lock:
        _memory[digest] = doc
    return decode(doc)


def _store(path: Path, doc: Any) -> None:
    # a cache we cannot write only costs the next run an inspection
    with contextlib.suppress(OSError, TypeError, ValueError):
        write_atomic(path, json.dumps({"answer": doc}))
