"""Whole-file writes that a reader never sees half done.

A file is written to a hidden name beside its target and renamed over it, so a reader sees
the old file or the new one, never a truncated one, and a failed write (a full disk, an
interrupt) leaves no temporary behind. Every small file the project writes whole (caches,
exported locks) goes through :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, private: bool = False) -> Path:
    """Write ``data`` to ``path`` through a hidden file beside it, then rename.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder is created when missing.
    data : str or bytes
        The whole content; text is written as UTF-8.
    private : bool
        Create the file readable and writable by its owner only (mode 0600, from the first
        byte on: there is no moment where another user could open it).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OSError
        When the folder cannot be created or the file cannot be written; the temporary file
        is removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        with os.fdopen(os.open(temp, flags, 0o600 if private else 0o666), "wb") as fh:
            fh.write(payload)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target
