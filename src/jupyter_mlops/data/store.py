"""The snapshot store on any fsspec filesystem: blobs by key, manifests by name and version.

Layout under the store URL::

    blobs/<k0k1>/<key>          one column slice (or dictionary), Arrow IPC + zstd
    snapshots/<name>/v000001.json   a manifest, written last

Blobs are written before the manifest that references them, each through a
temporary name renamed into place (object stores replace whole objects
atomically on their own), so a crash never leaves a visible broken version.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ..errors import NotFound, StoreError

__all__ = ["TMP_MARK", "SnapshotStore", "StoreUnwritable"]

TMP_MARK = ".tmp-"
_LOCAL = ("file", "local")


class StoreUnwritable(StoreError):
    """The snapshot store cannot be created or written; fix ``MLOPS_DATA_URI``."""

    is_usage = True


class SnapshotStore:
    """Blobs and manifests under one fsspec URL.

    Parameters
    ----------
    uri : str
        Any fsspec URL or local path, e.g. ``/proj/.mlops/data``, ``memory://d``, ``s3://b/p``.
    """

    def __init__(self, uri: str) -> None:
        import fsspec

        self.uri = uri
        try:
            self.fs, root = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError) as exc:
            raise StoreUnwritable(
                f"cannot open snapshot store {uri!r}: {exc}; set MLOPS_DATA_URI to a path or "
                "fsspec URL (install the filesystem's package, e.g. pip install s3fs)"
            ) from None
        self.root = root.rstrip("/")
        self.local = any(p in _LOCAL for p in _protocols(self.fs))
        self._made: set[str] = set()

    # -- paths ---------------------------------------------------------------------------
    def blob_path(self, key: str) -> str:
        """Where blob ``key`` lives."""
        return f"{self.root}/blobs/{key[:2]}/{key}"

    def manifest_path(self, name: str, version: int) -> str:
        """Where version ``version`` of ``name`` lives."""
        return f"{self.root}/snapshots/{name}/v{version:06d}.json"

    # -- blobs -------------------------------------------------------------------------
    def existing_keys(self) -> set[str]:
        """Keys of every complete blob in the store (one listing)."""
        return {p.rsplit("/", 1)[-1] for p in self._find("blobs") if TMP_MARK not in p}

    def blob_files(self) -> list[str]:
        """Every file under ``blobs/``, including unfinished temporary ones."""
        return self._find("blobs")

    def put_blob(self, key: str, data: bytes) -> None:
        """Write a blob atomically."""
        self._write(self.blob_path(key), data)

    def get_blob(self, key: str) -> bytes:
        """Read a blob; :class:`StoreError` when it is missing."""
        path = self.blob_path(key)
        try:
            if self.local:  # the OS directly: a tenth of fsspec's per-file cost
                with open(path, "rb", buffering=0) as handle:
                    return handle.readall()
            return bytes(self.fs.cat_file(path))
        except FileNotFoundError:
            raise StoreError(
                f"blob {key[:16]} is missing from {self.uri}; run jupyter mlops data verify"
            ) from None

    def remove(self, path: str) -> None:
        """Delete one file."""
        with self._errors("delete from"):
            self.fs.rm_file(path)

    def modified(self, path: str) -> float | None:
        """Modification time of ``path`` (seconds since the epoch), if the filesystem knows."""
        try:
            info = self.fs.info(path)
        except (FileNotFoundError, OSError):
            return None
        for field in ("mtime", "created", "LastModified", "updated"):
            value = info.get(field)
            if isinstance(value, (int, float)):
                return float(value)
            if hasattr(value, "timestamp"):
                return float(value.timestamp())
        return None

    # -- manifests -----------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every snapshot name, sorted."""
        base = f"{self.root}/snapshots"
        with self._errors("list"):
            if not self.fs.exists(base):
                return []
            entries = self.fs.ls(base, detail=False)
        return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries if self.fs.isdir(e))

    def versions(self, name: str) -> list[int]:
        """Versions of ``name`` in ascending order (empty when unknown)."""
        base = f"{self.root}/snapshots/{name}"
        with self._errors("list"):
            if not self.fs.exists(base):
                return []
            entries = self.fs.ls(base, detail=False)
        out = []
        for entry in entries:
            leaf = entry.rsplit("/", 1)[-1]
            if leaf.startswith("v") and leaf.endswith(".json") and leaf[1:-5].isdigit():
                out.append(int(leaf[1:-5]))
        return sorted(out)

    def read_manifest(self, name: str, version: int) -> dict[str, Any]:
        """Return a manifest; :class:`NotFound` when absent."""
        path = self.manifest_path(name, version)
        try:
            raw = self.fs.cat_file(path)
        except FileNotFoundError:
            raise NotFound(f"no snapshot {name}@v{version}") from None
        try:
            doc: dict[str, Any] = json.loads(raw)
        except ValueError:
            raise StoreError(
                f"manifest {path} is not valid JSON; run jupyter mlops data verify"
            ) from None
        return doc

    def write_manifest(self, name: str, doc: dict[str, Any]) -> int:
        """Write ``doc`` as the next version of ``name``; return that version.

        On a local filesystem the version is claimed with an exclusive link, so two
        processes snapshotting the same name at once get different versions.
        """
        for _ in range(100):
            version = (self.versions(name) or [0])[-1] + 1
            doc["version"] = version
            data = json.dumps(doc, separators=(",", ":")).encode()
            if self._create_exclusive(self.manifest_path(name, version), data):
                return version
        raise StoreError(f"could not claim a new version of {name!r} in {self.uri}; retry")

    # -- files beside a version (e.g. its validation schema) ---------------------------
    def side_path(self, name: str, version: int, suffix: str) -> str:
        """Where the ``suffix`` file of ``name@v<version>`` lives, e.g. ``v000003.schema.json``."""
        return f"{self.root}/snapshots/{name}/v{version:06d}.{suffix}"

    def write_side(self, name: str, version: int, suffix: str, data: bytes) -> None:
        """Write (or replace) a file beside a version, atomically."""
        self._write(self.side_path(name, version, suffix), data)

    def read_side(self, name: str, version: int, suffix: str) -> bytes | None:
        """A file beside a version, or None when there is none."""
        try:
            return bytes(self.fs.cat_file(self.side_path(name, version, suffix)))
        except FileNotFoundError:
            return None

    # -- low level -----------------------------------------------------------------------
    def _find(self, sub: str) -> list[str]:
        base = f"{self.root}/{sub}"
        with self._errors("list"):
            if not self.fs.exists(base):
                return []
            return [str(p) for p in self.fs.find(base)]

    def _write(self, path: str, data: bytes) -> None:
        with self._errors("write to"):
            if not self.local:
                self.fs.pipe_file(path, data)
                return
            tmp = f"{path}{TMP_MARK}{uuid.uuid4().hex}"
            self._makedirs(path.rsplit("/", 1)[0])
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                # A full disk must not stay full of our half-written pieces.
                with contextlib.suppress(OSError):
                    os.remove(tmp)
                raise

    def _makedirs(self, folder: str) -> None:
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)

    def _create_exclusive(self, path: str, data: bytes) -> bool:
        with self._errors("write to"):
            if not self.local:
                if self.fs.exists(path):
                    return False
                self.fs.pipe_file(path, data)
                return True
            tmp = f"{path}{TMP_MARK}{uuid.uuid4().hex}"
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.link(tmp, path)
            except FileExistsError:
                return False
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return True

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (PermissionError, IsADirectoryError, NotADirectoryError, OSError) as exc:
            if isinstance(exc, FileNotFoundError) and action != "write to":
                raise
            reason = exc.strerror or type(exc).__name__
            raise StoreUnwritable(
                f"cannot {action} the snapshot store {self.uri}: {reason}; "
                "set MLOPS_DATA_URI to a writable folder or fsspec URL"
            ) from None


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def now_iso() -> str:
    """Current UTC time as ISO 8601 (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
