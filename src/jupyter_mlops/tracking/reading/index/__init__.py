"""A fast, incrementally refreshed in-memory index of runs for browsing interfaces.

MLflow's ``search_runs`` ordered by a metric scans and joins every run on each
call (seconds on 10,000 runs). Browsing needs any page, sorted by any column or
filtered, in milliseconds, so :class:`RunsIndex` keeps one row per run (name,
status, times, latest metrics, params, tags, dataset inputs) in memory and
answers pages from there. MLflow stays the system of record: the index only
reads it, and a refresh re-reads only what changed.

Sources (a registry keyed by URI scheme, :data:`SOURCES`):

- SQL stores (``sqlite:``, ``postgresql:``, ``mysql:``, ``mssql:``): MLflow's
  tables are read directly with SQLAlchemy, read-only. A refresh first asks
  SQLite whether anything was committed since the last look (``PRAGMA
  data_version``, microseconds); then it scans the small ``runs`` table and
  re-reads metrics/params/tags only for runs that are new, changed, or not yet
  terminated; finally per-table row counts catch values added to runs that had
  already ended.
- Anything else (``http://`` servers): ``MlflowClient.search_runs`` ordered by
  start time (MLflow's fast path) with page tokens, then only runs started
  since the newest known one plus the unfinished ones.

Values rewritten in place on runs that had already ended (rare) are picked up
by ``refresh(full=True)``, which also runs by itself every ``full_every`` seconds.

Filters use MLflow's own parser, so the syntax and the error messages are
MLflow's; ordering follows MLflow's rules (missing values last, ties newest
first), plus a ``duration`` order key. Tags holding large text
(:data:`UNINDEXED_TAGS`) are not kept; a filter on them is refused with a
pointer to ``mlops.runs``.

Examples
--------
>>> from jupyter_mlops.tracking.reading.index import shared_index
>>> index = shared_index(settings.tracking_uri, ["1"])          # doctest: +SKIP
>>> page = index.page("metrics.acc > 0.8", ["metrics.acc DESC"],  # doctest: +SKIP
...                   offset=0, page_size=50)
>>> rows, total = page                                           # doctest: +SKIP
>>> rows[0].as_dict()       # JSON-ready, same shape as browse.run_row  # doctest: +SKIP

A REST handler adopts it by keeping one ``shared_index(uri, ids)`` per
experiment set and answering ``GET runs`` with ``index.page(...)``; the
``next_page_token`` of a page is the offset of the next one.
"""

from __future__ import annotations

from ..run_rows import MAX_PAGE, UNFINISHED, UNINDEXED_TAGS, RunRow, RunsPage
from .filters import compile_filter, compile_order, sort_rows
from .runs_index import RunsIndex, shared_index
from .sources import SOURCES, SearchSource, Source, SqlSource

__all__ = [
    "MAX_PAGE",
    "SOURCES",
    "UNFINISHED",
    "UNINDEXED_TAGS",
    "RunRow",
    "RunsIndex",
    "RunsPage",
    "SearchSource",
    "Source",
    "SqlSource",
    "compile_filter",
    "compile_order",
    "shared_index",
    "sort_rows",
]
