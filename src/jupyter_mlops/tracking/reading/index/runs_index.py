"""The in-memory runs index and the process-wide cache of them."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ....errors import InvalidInput
from ..run_rows import MAX_PAGE, RunRow, RunsPage
from .filters import compile_filter, compile_order, sort_rows
from .sources import Source, open_source

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient


# -- the index ------------------------------------------------------------------------
class RunsIndex:
    """In-memory table of the runs of some experiments, answering pages in milliseconds.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI; SQL stores are read directly, others through ``search_runs``.
    experiment_ids : sequence of str
        Experiments whose (active, not deleted) runs are indexed.
    client : MlflowClient, optional
        Client for non-SQL stores (default: one on ``tracking_uri``).
    max_age : float
        :meth:`page` refreshes first when the last refresh is older than this (seconds).
    full_every : float
        Seconds between full re-reads that catch in-place edits of ended runs.
    source : Source, optional
        Where rows come from; default chosen from ``tracking_uri`` through :data:`SOURCES`.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_ids: Sequence[str],
        *,
        client: MlflowClient | None = None,
        max_age: float = 1.0,
        full_every: float = 300.0,
        source: Source | None = None,
    ) -> None:
        if not experiment_ids:
            raise InvalidInput("give at least one experiment id to index, e.g. ['1']")
        self.experiment_ids = [str(e) for e in experiment_ids]
        self.max_age = max_age
        self.full_every = full_every
        self._source = source or open_source(tracking_uri, self.experiment_ids, client)
        self._rows: dict[str, RunRow] = {}
        self._base: list[RunRow] = []
        self._views: OrderedDict[tuple[str, tuple[str, ...]], list[RunRow]] = OrderedDict()
        self._keys: tuple[int, dict[str, list[str]]] | None = None
        self._lock = threading.RLock()
        self._refreshed = 0.0
        self._full_at = 0.0
        #: incremented whenever the indexed rows change
        self.version = 0

    def __len__(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        """Release the store connection."""
        with self._lock:
            self._source.close()

    def refresh(self, full: bool = False) -> bool:
        """Bring the index up to date with the store; return whether anything changed."""
        with self._lock:
            now = time.monotonic()
            full = full or not self._rows or now - self._full_at >= self.full_every
            rows = self._source.sync(self._rows, full)
            self._refreshed = time.monotonic()
            if full:
                self._full_at = now
            if rows is None:
                return False
            self._rows = rows
            self._base = sorted(rows.values(), key=lambda r: (-r.start_time, r.run_id))
            self._views.clear()
            self.version += 1
            return True

    def _fresh(self) -> None:
        if not self._refreshed or time.monotonic() - self._refreshed >= self.max_age:
            self.refresh()

    def get(self, run_id: str) -> RunRow | None:
        """The indexed row of ``run_id``, or ``None``."""
        with self._lock:
            self._fresh()
            return self._rows.get(run_id)

    def rows(self, filter_string: str = "", order_by: Sequence[str] | None = None) -> list[RunRow]:
        """Every matching row in order (cached until the index changes)."""
        with self._lock:
            self._fresh()
            key = ((filter_string or "").strip(), tuple(order_by or ()))
            view = self._views.get(key)
            if view is None:
                predicates = compile_filter(key[0])
                order = compile_order(key[1])
                matched = [r for r in self._base if all(p(r) for p in predicates)]
                view = sort_rows(matched, order) if order else matched
                self._views[key] = view
                while len(self._views) > 16:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(key)
            return view

    def versioned_rows(
        self, filter_string: str = "", order_by: Sequence[str] | None = None
    ) -> tuple[int, list[RunRow]]:
        """:meth:`rows` and the :attr:`version` they belong to, read together."""
        with self._lock:
            rows = self.rows(filter_string, order_by)
            return self.version, rows

    def page(
        self,
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> RunsPage:
        """Return rows ``offset .. offset+page_size`` of the matching runs and their total.

        Parameters
        ----------
        filter_string : str
            MLflow search syntax, e.g. ``"metrics.acc > 0.8 and params.model = 'rf'"``.
        order_by : sequence of str, optional
            E.g. ``["metrics.acc DESC"]``; default newest first.
        offset : int
            First row (0-based); ignored when ``page_token`` is given.
        page_size : int
            1 to 1000 rows.
        page_token : str, optional
            ``RunsPage.next_page_token(offset)`` of the previous page.
        """
        if page_token:
            offset = _offset_of(page_token)
        if not 1 <= page_size <= MAX_PAGE:
            raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}, got {page_size}")
        if offset < 0:
            raise InvalidInput(f"offset must be 0 or more, got {offset}")
        view = self.rows(filter_string, order_by)
        return RunsPage(view[offset : offset + page_size], len(view))

    def keys(self) -> dict[str, list[str]]:
        """Metric, param and tag keys present in the indexed runs (for column pickers)."""
        with self._lock:
            self._fresh()
            if self._keys is None or self._keys[0] != self.version:
                found: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
                for row in self._rows.values():
                    found["metrics"].update(row.metrics)
                    found["params"].update(row.params)
                    found["tags"].update(row.tags)
                self._keys = (self.version, {k: sorted(v) for k, v in found.items()})
            return {k: list(v) for k, v in self._keys[1].items()}


def _offset_of(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InvalidInput(
            f"bad page token {token!r}: pass the next_page_token of the previous page"
        ) from None


_shared: OrderedDict[tuple[str, tuple[str, ...]], RunsIndex] = OrderedDict()
_shared_lock = threading.Lock()


def shared_index(
    tracking_uri: str, experiment_ids: Sequence[str], client: MlflowClient | None = None
) -> RunsIndex:
    """Return the process-wide index of ``experiment_ids`` on ``tracking_uri`` (kept for reuse)."""
    key = (tracking_uri, tuple(sorted(str(e) for e in experiment_ids)))
    with _shared_lock:
        index = _shared.get(key)
        if index is None:
            index = RunsIndex(tracking_uri, list(key[1]), client=client)
            _shared[key] = index
            while len(_shared) > 8:
                _shared.popitem(last=False)[1].close()
        _shared.move_to_end(key)
        return index
