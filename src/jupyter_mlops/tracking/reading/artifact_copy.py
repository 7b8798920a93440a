"""Private local copies of run artifacts: one temporary folder per read, removed after use.

A tracking server keeps artifacts remotely, so reading one means downloading
it. MLflow writes a download to ``<dst>/<artifact path>``: two reads sharing a
destination (one server-wide scratch folder, say) overwrite each other, and a
reader of run A can be handed run B's file of the same name. So every read here
downloads into its own folder made by :func:`tempfile.mkdtemp` (mode 0700) and
removes it when done. At most :data:`MAX_COPIES` copies exist at once in a
process (further reads wait their turn), which bounds the disk they use.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import StoreError
from ..mlflow_bridge.store import mlflow_errors

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient

__all__ = ["MAX_COPIES", "ArtifactCopy", "copy_artifact", "private_folder", "read_artifact_text"]

#: most downloaded copies alive at once in this process
MAX_COPIES = 8
#: seconds a read waits for a free slot before giving up
_SLOT_WAIT_S = 120.0
_slots = threading.BoundedSemaphore(MAX_COPIES)


@dataclass
class ArtifactCopy:
    """A local file holding one artifact; :meth:`close` removes it when it was downloaded.

    Attributes
    ----------
    path : Path
        The file (or folder) to read.
    folder : Path or None
        The private folder holding a download; ``None`` when ``path`` is the store's
        own file (a local artifact store is read in place and never removed).
    """

    path: Path
    folder: Path | None = None

    def close(self) -> None:
        """Remove the private folder (once) and free its slot."""
        folder, self.folder = self.folder, None
        if folder is not None:
            _drop(folder)

    def __enter__(self) -> ArtifactCopy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_folder(prefix: str, parent: Path | None) -> Path:
    """Take a slot and make a fresh 0700 folder in ``parent``; :func:`_drop` undoes both."""
    if not _slots.acquire(timeout=_SLOT_WAIT_S):
        raise StoreError(
            f"{MAX_COPIES} artifact downloads have been in progress for {_SLOT_WAIT_S:.0f} s; "
            "retry later"
        )
    try:
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except BaseException:
        _slots.release()
        raise


def _drop(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _slots.release()


@contextlib.contextmanager
def private_folder(prefix: str = "mlops-artifact-", parent: Path | None = None) -> Iterator[Path]:
    """A fresh 0700 folder for downloads, removed with its content when the block ends.

    It takes one of the :data:`MAX_COPIES` slots while it exists.
    """
    folder = _new_folder(prefix, parent)
    try:
        yield folder
    finally:
        _drop(folder)


def copy_artifact(
    client: MlflowClient, run_id: str, path: str, *, parent: Path | None = None
) -> ArtifactCopy:
    """Download artifact ``path`` of run ``run_id`` into a private folder.

    The caller closes the returned copy (or uses it as a context manager).

    Parameters
    ----------
    client : MlflowClient
    run_id, path : str
        The run and the artifact path relative to its artifact root.
    parent : Path, optional
        Where the private folder is made; default the system temporary folder.
    """
    folder = _new_folder("mlops-artifact-", parent)
    try:
        with mlflow_errors(f"download artifact {path!r} of run {run_id}"):
            got = Path(client.download_artifacts(run_id, path, dst_path=str(folder)))
    except BaseException:
        _drop(folder)
        raise
    return ArtifactCopy(got, folder)


def read_artifact_text(client: MlflowClient, run_id: str, path: str) -> str:
    """Return the text of artifact ``path`` of run ``run_id`` (UTF-8); no file is left behind."""
    with copy_artifact(client, run_id, path) as copy:
        return copy.path.read_text(encoding="utf-8")
