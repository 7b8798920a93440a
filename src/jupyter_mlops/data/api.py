"""Public snapshot functions, re-exported as ``jupyter_mlops.*``.

Examples
--------
>>> import jupyter_mlops as mlops
>>> ref = mlops.snapshot(train_df, name="train")     # doctest: +SKIP
>>> ref
train@v1  digest 3f9c2a41be07  2,000,000 rows × 19 cols  +212.4 MB stored
>>> df = mlops.data.load("train@v1")                      # doctest: +SKIP
>>> mlops.diff("train@v1", "train@v2", key="id")     # doctest: +SKIP
>>> mlops.data.drift("train@v1", live_df)                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .lineage import log_input, snapshot_uri
from .reader import manifests, read_snapshot, resolve
from .store import SnapshotStore
from .writer import take_snapshot

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .drift_report import DriftReport
    from .snapshot_diff import DiffReport

__all__ = ["SnapshotRef", "diff", "drift", "load", "open_store", "snapshot", "snapshots"]


@dataclass(frozen=True)
class SnapshotRef:
    """One stored snapshot version.

    Attributes
    ----------
    name, version, digest : str, int, str
        ``digest`` is 32 hex digits (128 bits) naming the content.
    rows, cols : int
        Shape of the data (index levels not counted as columns).
    bytes_stored : int
        Bytes this snapshot added to the store (0 when nothing new was stored).
    blobs_stored, blobs_total : int
        New blobs written (chunks, and the masks and new rows of chunks kept as row
        selections) and chunks the snapshot references.
    chunks_written : int
        Chunks stored whole (the rest were already stored or are row selections).
    created : str
        ISO 8601 UTC time the version was written.
    uri : str
        ``mlops://name@vN``: the source recorded on MLflow runs.
    unchanged : bool
        True when :func:`snapshot` found the data equal to the latest version and
        returned that version instead of writing a new one.
    """

    name: str
    version: int
    digest: str
    rows: int
    cols: int
    bytes_stored: int
    blobs_stored: int = 0
    blobs_total: int = 0
    chunks_written: int = 0
    created: str = ""
    uri: str = ""
    unchanged: bool = False

    @classmethod
    def from_manifest(cls, m: dict[str, Any], *, unchanged: bool = False) -> SnapshotRef:
        """Build a reference from a stored manifest."""
        stored = 0 if unchanged else m["bytes_stored"]
        return cls(
            name=m["name"],
            version=int(m["version"]),
            digest=m["digest"],
            rows=int(m["rows"]),
            cols=int(m["cols"]),
            bytes_stored=int(stored),
            blobs_stored=0 if unchanged else int(m.get("blobs_stored", 0)),
            blobs_total=int(m.get("blobs_total", 0)),
            chunks_written=0
            if unchanged
            else int(m.get("chunks_written", m.get("blobs_stored", 0))),
            created=m.get("created", ""),
            uri=snapshot_uri(m["name"], int(m["version"])),
            unchanged=unchanged,
        )

    @property
    def ref(self) -> str:
        """``name@vN``."""
        return f"{self.name}@v{self.version}"

    @property
    def dedup_ratio(self) -> float:
        """Share of referenced chunks not stored whole: already there, or row selections (0..1)."""
        return 1.0 - self.chunks_written / self.blobs_total if self.blobs_total else 1.0

    def __str__(self) -> str:
        if self.unchanged:
            return f"{self.ref} unchanged (digest {self.digest[:12]}), nothing new stored"
        return (
            f"{self.ref}  digest {self.digest[:12]}  {self.rows:,} rows × {self.cols} cols  "
            f"+{format_bytes(self.bytes_stored)} stored ({self.dedup_ratio:.0%} deduplicated)"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def format_bytes(n: float) -> str:
    """Human-readable size, e.g. ``4.1 MB``."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def open_store(uri: str | None = None) -> SnapshotStore:
    """The snapshot store at ``uri`` (default: the project's ``Settings.data_uri``)."""
    if uri is None:
        from ..tracking.api import tracker

        uri = tracker().settings.data_uri
    return SnapshotStore(uri)


def snapshot(data: Any, name: str, *, store: str | None = None) -> SnapshotRef:
    """Store ``data`` as the next version of ``name`` and return its reference.

    Unchanged data is not stored again: the latest version comes back with
    ``bytes_stored == 0``. While a run is active the snapshot is recorded on it
    as an MLflow dataset input.

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, pyarrow.Table or numpy.ndarray
    name : str
        1-128 letters, digits, ``_``, ``.`` or ``-``.
    store : str, optional
        fsspec URL of the snapshot store; default ``MLOPS_DATA_URI`` or ``<root>/.mlops/data``.

    Examples
    --------
    >>> ref = mlops.snapshot(train_df, name="train")  # doctest: +SKIP
    >>> ref.version, ref.digest[:8]                   # doctest: +SKIP
    (1, '3f9c2a41')
    """
    manifest, created = take_snapshot(open_store(store), data, name)
    log_input(manifest, "snapshot")
    return SnapshotRef.from_manifest(manifest, unchanged=not created)


def load(ref: str, *, store: str | None = None) -> Any:
    """Return the data of snapshot ``ref`` (``name``, ``name@v3`` or ``name@<digest prefix>``).

    A bare name gives the latest version, or the digest pinned for it in
    ``$MLOPS_PINNED_SNAPSHOTS``. While a run is active the snapshot is recorded
    on it as a ``training`` dataset input.

    Examples
    --------
    >>> df = mlops.data.load("train@v1")  # doctest: +SKIP
    """
    the_store = open_store(store)
    manifest = resolve(the_store, ref)
    data = read_snapshot(the_store, manifest)
    log_input(manifest, "training")
    return data


def info(ref: str, *, store: str | None = None) -> dict[str, Any]:
    """The manifest of ``ref`` without its blob lists (for ``show``)."""
    manifest = resolve(open_store(store), ref)
    hidden = ("columns", "schema", "chunks", "derived")
    out = {k: v for k, v in manifest.items() if k not in hidden}
    out["columns"] = [{"name": c["name"], "type": c["type"]} for c in manifest["columns"]]
    out["chunks"] = len(manifest["chunks"])
    out["derived_chunks"] = len(manifest.get("derived") or {})
    out["uri"] = snapshot_uri(manifest["name"], manifest["version"])
    return out


def snapshots(name: str | None = None, *, store: str | None = None) -> pd.DataFrame:
    """Versions of ``name`` (or the latest version of every name) as a DataFrame.

    Examples
    --------
    >>> mlops.data.snapshots("train")  # doctest: +SKIP
    """
    import pandas as pd

    the_store = open_store(store)
    if name is not None:
        from .refs import check_name

        found = manifests(the_store, check_name(name))
        if not found:
            resolve(the_store, name)  # raises NotFound listing known names
    else:
        found = []
        for each in the_store.names():
            versions = the_store.versions(each)
            if versions:
                found.append(the_store.read_manifest(each, versions[-1]))
    rows = [_row(m) for m in found]
    columns = ["ref", "version", "digest", "rows", "cols", "new_bytes", "dedup", "created"]
    return pd.DataFrame(rows, columns=columns)


def _row(m: dict[str, Any]) -> dict[str, Any]:
    ref = SnapshotRef.from_manifest(m)
    return {
        "ref": ref.ref,
        "version": ref.version,
        "digest": ref.digest[:12],
        "rows": ref.rows,
        "cols": ref.cols,
        "new_bytes": ref.bytes_stored,
        "dedup": round(ref.dedup_ratio, 4),
        "created": ref.created,
    }


def _data(value: Any, store: str | None) -> Any:
    """A snapshot reference's data, or ``value`` itself when it is already data."""
    if isinstance(value, SnapshotRef):
        value = value.ref
    if isinstance(value, str):
        return load(value, store=store)
    return value


def diff(
    a: Any, b: Any, *, key: str | list[str] | None = None, store: str | None = None
) -> DiffReport:
    """Compare two snapshots (refs or frames): schema, rows added/removed/changed, statistics.

    Examples
    --------
    >>> mlops.diff("train@v1", "train@v2", key="id")  # doctest: +SKIP
    """
    from .snapshot_diff import compare

    return compare(_frame(_data(a, store)), _frame(_data(b, store)), key=key)


def drift(
    reference: Any,
    current: Any,
    *,
    threshold: float = 0.05,
    columns: list[str] | None = None,
    log: bool = True,
    store: str | None = None,
) -> DriftReport:
    """Per-column drift of ``current`` against ``reference`` (refs or frames).

    Numeric columns use the two-sample Kolmogorov-Smirnov test, others
    chi-square; both report the population stability index. A column drifts
    when its p-value is below ``threshold``. While a run is active the result
    is logged to it (metrics ``drift.<column>.psi`` ... and an HTML + JSON artifact).

    Examples
    --------
    >>> report = mlops.data.drift("train@v1", live_df)  # doctest: +SKIP
    >>> report.drifted_columns                      # doctest: +SKIP
    ['age']
    """
    from .drift_report import compute_drift, log_drift

    report = compute_drift(
        _frame(_data(reference, store)),
        _frame(_data(current, store)),
        threshold=threshold,
        columns=columns,
    )
    if log:
        log_drift(report)
    return report


def _frame(value: Any) -> Any:
    """Any accepted data as a DataFrame (diff and drift work on columns)."""
    import pandas as pd

    from .codec import to_table

    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    table, _ = to_table(value)
    return table.to_pandas()
