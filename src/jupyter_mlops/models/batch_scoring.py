"""Batch scoring: a registered version over a file, a folder or a snapshot, recorded as a run.

The input is read in batches (``ParquetFile.iter_batches``, ``read_csv(chunksize=)``
or a snapshot's Arrow table sliced), each batch is checked against the version's
signature, scored, appended to the output (``ParquetWriter`` or CSV) under a
temporary name and to the model's prediction log with role ``batch``; reading the
next batch and writing the last one overlap the scoring (:mod:`.batch_pipeline`).
The output is renamed into place only when every batch succeeded, so a failure
leaves no partial file. Memory holds a few batches (two read ahead, two waiting
for each writer) plus a bounded sample of rows (for drift against the version's
training snapshot), whatever the input size.

Each call is one MLflow run named ``predict <model>``: the version, the input
(a snapshot as a dataset input, a file by its content digest), rows, time,
prediction statistics and the drift metrics and report of :mod:`..data.drift`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..tracking.api import tracker
from .batch_inputs import BatchInput, open_input
from .batch_model import Scorer, blas_in_one_thread, load_scorer
from .batch_outputs import Output, scores_frame, scores_table
from .batch_pipeline import InOrder, prefetch
from .loading import model_copy
from .monitoring_runs import prediction_stats, shared_columns, training_reference
from .prediction_log.blocks import NumberedIds
from .refs import parse_ref, resolve

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .prediction_log import PredictionLog

__all__ = [
    "BATCH_ROLE",
    "DEFAULT_BATCH_SIZE",
    "SAMPLE_ROWS",
    "BatchResult",
    "score",
    "summary_line",
]

#: role of batch predictions in the prediction log
BATCH_ROLE = "batch"
#: rows read, scored and written at a time
DEFAULT_BATCH_SIZE = 100_000
#: rows of the input (and of the training snapshot) drift is measured on
SAMPLE_ROWS = 10_000
_DIGEST_TAG = "mlops.predict.input_digest"  # set when the digest, computed meanwhile, is known


@dataclass
class BatchResult:
    """What one batch scoring call did.

    Attributes
    ----------
    model, version : str
    run_id : str
        The ``predict <model>`` run.
    rows : int
    seconds : float
    source : str
        The input as given (a path, URL or snapshot ref).
    digest : str
        The input's content digest (a snapshot's own digest).
    output : str or None
        The file written.
    drift : DriftReport or None
        Drift of an input sample against the training snapshot (``None`` when the
        version has none).
    reference : str or None
        The training snapshot compared with.
    frame : DataFrame or None
        The scores, when collected (``mlops.predict``).
    """

    model: str
    version: str
    run_id: str
    rows: int
    seconds: float
    source: str
    digest: str
    output: str | None
    drift: Any
    reference: str | None
    frame: Any = None
    stats: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no frame)."""
        return {
            "model": self.model,
            "version": self.version,
            "run_id": self.run_id,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "input": self.source,
            "input_digest": self.digest,
            "output": self.output,
            "reference": self.reference,
            "share_drifted": None if self.drift is None else float(self.drift.share_drifted),
        }

    def __str__(self) -> str:
        return summary_line(self.to_dict())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def summary_line(info: dict[str, Any]) -> str:
    """One line about a scoring call from :meth:`BatchResult.to_dict`."""
    drift = info.get("share_drifted")
    drifted = (
        "no training snapshot to compare with"
        if drift is None
        else f"{drift:.0%} of columns drifted vs {info.get('reference')}"
    )
    where = f" -> {info['output']}" if info.get("output") else ""
    return (
        f"predict {info['model']}/{info['version']}: {info['rows']} rows from {info['input']}"
        f"{where} in {info['seconds']:.2f} s (run {info['run_id']}); {drifted}"
    )


# -- scoring ---------------------------------------------------------------------------------


class _Sample:
    """A uniform sample of at most ``size`` rows of every batch seen (bottom-k random keys).

    Once the sample is full, only a batch's rows whose key is below the sample's
    largest can enter it (an equal key loses to the older row), so those few are
    all that is merged: the sample, and its order by key, are those of merging
    every row, at a fraction of the cost.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        import numpy as np

        self.size, self.rng = size, np.random.default_rng(seed)
        self.frame: pd.DataFrame | None = None
        self._top = np.inf  # the largest key of a full sample

    def add(self, batch: pd.DataFrame) -> None:
        import numpy as np
        import pandas as pd

        keys = self.rng.random(len(batch))
        full = self.frame is not None and len(self.frame) >= self.size and len(batch) > 0
        if full:
            below = np.flatnonzero(keys < self._top)
            batch, keys = batch.iloc[below], keys[below]
        if len(batch) > self.size:  # only a batch's own smallest keys can enter the sample
            keep = np.sort(np.argpartition(keys, self.size)[: self.size])
            batch, keys = batch.iloc[keep], keys[keep]
        keyed = batch.assign(__key=keys)
        both = keyed if self.frame is None else pd.concat([self.frame, keyed], ignore_index=True)
        if len(both) > self.size or full:  # the smallest keys in key order (ties: oldest first)
            both = both.take(np.argsort(both["__key"].to_numpy(), kind="stable")[: self.size])
        self.frame = both
        if len(both) >= self.size:
            self._top = float(both["__key"].max())

    def rows(self) -> pd.DataFrame | None:
        return None if self.frame is None else self.frame.drop(columns="__key")


def _reference(client: Any, version: Any) -> tuple[str | None, Any]:
    """The training snapshot (name and a bounded sample of its rows), or ``(None, None)``."""
    from ..data import api as data_api

    try:
        name = training_reference(client, version)
    except InvalidInput:
        return None, None
    frame = data_api.load(name)  # before the run: a reference, not an input of it
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, random_state=0)
    return name, frame


@dataclass
class _Written:
    """Where a scored batch goes: the prediction log, and the output file or the frames.

    :meth:`append` and :meth:`write` each run on their own thread, in batch order.
    ``count`` is the input's row count when known beforehand: the log keeps only its
    last ``limit`` rows, so a batch wholly before the input's last ``limit`` rows
    would lose its inputs to the log's bound before this call ends, and is logged
    without them (its predictions are logged as any other's).
    """

    log: PredictionLog
    sink: Output | None
    frames: list[pd.DataFrame] | None
    id_column: str | None
    run_id: str
    classes: list[Any] | None
    version: str
    count: Callable[[], int | None] = lambda: None
    _dropped: int | None = field(default=None, init=False, repr=False)

    def append(self, batch: pd.DataFrame, X: pd.DataFrame, offset: int, predictions: Any) -> None:
        """Log one batch's inputs and predictions under their request ids."""
        import pandas as pd

        ids: Any = (
            NumberedIds(self.run_id, offset, len(batch))  # the request_id column, as a block
            if self.id_column is None
            else pd.Series(batch[self.id_column].to_numpy()).astype(str).tolist()
        )
        if self._dropped is None:
            total = self.count()
            self._dropped = max(0, total - self.log.limit) if total is not None else 0
        inputs = X if offset + len(batch) > self._dropped else None
        self.log.append(self.version, BATCH_ROLE, ids, inputs, predictions)

    def write(self, batch: pd.DataFrame, offset: int, predictions: Any, proba: Any) -> None:
        """Write (or keep) one batch's scores."""
        sink = self.sink
        if (
            sink is not None and sink.schema is not None and self.frames is None
            and self.id_column is None
        ):  # fmt: skip
            table = scores_table(
                offset, self.run_id, predictions, proba, self.classes, self.version, sink.schema
            )
            if table is not None:
                sink.write_table(table)
                return
        out = scores_frame(
            batch, self.id_column, offset, self.run_id, predictions, proba, self.classes,
            self.version,
        )  # fmt: skip
        if self.sink is not None:
            self.sink.write(out)
        if self.frames is not None:
            self.frames.append(out)


def score(
    ref: str,
    data: Any,
    *,
    output: str | None = None,
    id_column: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    experiment: str | None = None,
    collect: bool = False,
    threshold: float = 0.05,
) -> BatchResult:
    """Score ``data`` with registered version ``ref`` batch by batch, as one run.

    The next batch is read and the last ones written (the output file; the prediction
    log) on threads while the current one is scored (:mod:`.batch_pipeline`).

    Parameters
    ----------
    ref : str
        ``name@alias``, ``name/3`` or ``name``.
    data : str, PathLike or DataFrame
        A .csv/.parquet file or folder (any fsspec URL), a snapshot ref
        (``customers@v7``) or a DataFrame.
    output : str, optional
        A ``.parquet`` or ``.csv`` file to write.
    id_column : str, optional
        Column identifying each row: copied to the output and used as the
        prediction log's request id. Without it the output has a ``row`` number
        and a ``request_id`` column (``<run id>-<row>``) to join labels on.
    batch_size : int
        Rows read and scored at a time.
    experiment : str, optional
        Experiment of the run (default: the current one).
    collect : bool
        Keep every batch's scores and return them as ``frame``.
    threshold : float
        p-value below which a column counts as drifted.

    Raises
    ------
    NotFound
        Unknown model or version.
    InvalidInput
        Unreadable input, a column the signature needs missing or of the wrong
        kind, a bad option. No output file is left behind.
    """
    import pandas as pd

    from .prediction_log import open_log

    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"the batch size is a positive number of rows, got {batch_size!r}")
    t = tracker()
    target = parse_ref(ref)
    source = open_input(data)  # first: a file's digest is computed while MLflow is imported
    try:
        version = resolve(t.client, target)
        sink = Output(output) if output else None
        with model_copy(t.client, version, t.settings.tracking_uri) as path:
            scorer = load_scorer(path)
        against, ref_frame = _reference(t.client, version)
    except BaseException:
        source.close()
        raise
    if experiment:
        t.set_experiment(experiment)
    number = str(version.version)
    tags = {
        "mlops.predict.model": version.name,
        "mlops.predict.version": number,
        "mlops.predict.ref": str(target),
        "mlops.predict.input": source.source,
        "mlops.predict.reference": against or "",
    }
    if output:
        tags["mlops.predict.output"] = output
    run = t.start_run(f"predict {version.name}", tags)
    frames: list[pd.DataFrame] | None = [] if collect else None
    written = _Written(
        open_log(version.name), sink, frames, id_column, run.run_id, scorer.classes, number,
        source.count,
    )  # fmt: skip
    try:
        rows, seconds, stats, report = _score_all(
            t, source, scorer, written, batch_size, ref_frame, threshold, f"{version.name}/{number}"
        )
        if sink is not None:
            sink.commit()
    except BaseException as exc:
        if isinstance(exc, Exception):  # a failed run still names its input (not on Ctrl-C)
            with contextlib.suppress(Exception):
                t.set_tags({_DIGEST_TAG: source.content_digest()})
        source.close()
        if sink is not None:
            sink.discard()
        t.end_run("FAILED")
        raise
    finally:
        written.log.close()
    t.end_run("FINISHED")
    frame = pd.concat(frames, ignore_index=True) if frames else None
    if collect and frame is None:
        frame = pd.DataFrame(columns=[id_column or "row", "prediction", "model_version"])
    return BatchResult(
        version.name, number, run.run_id, rows, seconds, source.source, source.content_digest(),
        output, report, against, frame, stats,
    )  # fmt: skip


def _score_all(
    t: Any,
    source: BatchInput,
    scorer: Scorer,
    written: _Written,
    batch_size: int,
    ref_frame: pd.DataFrame | None,
    threshold: float,
    label: str,
) -> tuple[int, float, dict[str, float], Any]:
    """Score every batch of ``source`` into the active run; log its figures and drift."""
    import numpy as np
    import pandas as pd

    from ..data.drift_report import compute_drift, log_drift
    from ..data.lineage import log_input

    sample, scored, rows, started = _Sample(SAMPLE_ROWS), _Sample(SAMPLE_ROWS, 1), 0, time.time()
    if source.manifest is not None:
        log_input(source.manifest, "scoring")
    batches = prefetch(source.batches(batch_size), name="mlops-predict-read")
    stages = [
        InOrder(written.append, name="mlops-predict-log"),
        InOrder(written.write, name="mlops-predict-write"),
    ]
    logs, writes = stages
    try:
        with blas_in_one_thread():  # our threads use the cores (see there)
            for batch in batches:
                if written.id_column is not None and written.id_column not in batch.columns:
                    raise InvalidInput(
                        f"{source.source} has no id column {written.id_column!r} "
                        f"(columns: {', '.join(map(str, list(batch.columns)[:10]))})"
                    )
                X = scorer.check(batch, source.source)
                try:
                    predictions, proba = scorer.score(X)
                except Exception as exc:
                    raise InvalidInput(
                        f"{label} could not score {source.source} "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                        "pass rows with the columns and types it was trained on"
                    ) from None
                sample.add(X)
                scored.add(pd.DataFrame({"prediction": np.asarray(predictions)}))
                logs.submit(batch, X, rows, predictions)
                writes.submit(batch, rows, predictions, proba)
                rows += len(batch)
        for stage in stages:
            stage.finish()
    except Exception:
        for stage in stages:  # the batches scored before the error are logged, as they were
            with contextlib.suppress(Exception):
                stage.finish()
        raise
    except BaseException:
        for stage in stages:
            stage.cancel()
        raise
    finally:
        batches.close()  # type: ignore[attr-defined]
    seconds = time.time() - started
    t.set_tags({_DIGEST_TAG: source.content_digest()})
    preds = scored.rows()
    stats = prediction_stats(preds["prediction"] if preds is not None else [])
    stats.update(rows=float(rows), seconds=seconds)
    stats["rows_per_second"] = rows / seconds if seconds > 0 else 0.0
    t.log_metrics(stats)
    report = None
    current = sample.rows()
    if ref_frame is not None and current is not None and len(current):
        report = compute_drift(
            ref_frame, current, threshold=threshold, columns=shared_columns(ref_frame, current)
        )
        log_drift(report)
    t.flush()
    return rows, seconds, stats, report
