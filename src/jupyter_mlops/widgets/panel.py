"""The panel: tabs Runs | Compare | Models | Data | Schedules | Table, and ``mlops.panel()``."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from ..errors import InvalidInput
from ..tracking.api import tracker
from ..tracking.reading import browse
from ..tracking.reading.frames import experiment_ids
from .compare_tab import CompareTab
from .data_tab import DataTab
from .live import LiveUpdater
from .models_tab import ModelsTab
from .run_detail import RunDetail
from .runs_tab import PAGE_SIZES, RunsTab
from .schedules_tab import SchedulesTab
from .table_tab import TableTab

__all__ = ["Panel", "panel"]

TITLES = ("Runs", "Compare", "Models", "Data", "Schedules", "Table")


class Panel:
    """Browse, compare and watch runs, models and snapshots inside the notebook.

    Build it with :func:`panel`. Attributes ``runs``, ``detail``, ``compare``,
    ``models``, ``data``, ``schedules`` and ``table`` are the parts; ``widget`` is the root widget.
    """

    def __init__(
        self,
        experiment: str | None = None,
        filter: str = "",
        page_size: int = 25,
        live: bool = True,
        interval: float = 0.5,
    ) -> None:
        t = tracker()
        client = t.client
        choices = [(e["name"], e["experiment_id"]) for e in browse.experiments(client)]
        self.runs = RunsTab(
            client,
            t.settings.tracking_uri,
            choices,
            _first_experiment(client, experiment, choices),
            filter,
            page_size,
        )
        self.detail = RunDetail(client)
        self.runs.on_select(self.detail.show)
        self.compare = CompareTab(client, lambda: list(self.runs.compare_ids))
        self.models = ModelsTab()
        self.data = DataTab()
        self.schedules = SchedulesTab()
        self.table = TableTab(client, t.settings.tracking_uri, lambda: self.runs.experiment.value)
        runs_page = w.VBox([self.runs.widget, w.HTML("<hr>"), self.detail.widget])
        self.tabs = w.Tab(
            children=[
                runs_page,
                self.compare.widget,
                self.models.widget,
                self.data.widget,
                self.schedules.widget,
                self.table.widget,
            ],
            titles=list(TITLES),
        )
        self.tabs.observe(lambda c: self._opened(c["new"]), "selected_index")
        self.widget = w.VBox([self.tabs], layout=w.Layout(width="100%"))
        self._lock = threading.Lock()
        self._select_active()
        self.live = LiveUpdater(self._tick, interval).start() if live else None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _opened(self, tab: int | None) -> None:
        # Models and Data read other stores: load them when first looked at
        if tab == 2 and not self.models.loaded:
            self.models.load()
        elif tab == 3 and not self.data.loaded:
            self.data.load()
        elif tab == 4 and not self.schedules.loaded:
            self.schedules.load()
        elif tab == 5:  # the Runs tab may have switched experiment since
            self.table.load()

    def _select_active(self) -> bool:
        active = tracker().active
        if self.runs.selected is None and active is not None and self.runs.index.get(active.run_id):
            self.runs.select(active.run_id)
            return True
        return False

    def _tick(self) -> bool:
        """One live update: new values, statuses and the watched run's charts."""
        if self.widget.comm is None:  # closed by the frontend or by close()
            return False
        with self._lock:
            self.runs.refresh()
            if not self._select_active():
                self.detail.refresh_live()
        return True

    def close(self) -> None:
        """Stop live updates and close every widget of the panel."""
        if self.live is not None:
            self.live.stop()
        _close_tree(self.widget)


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def _first_experiment(client: Any, name: str | None, choices: list[tuple[str, str]]) -> str:
    if name:
        return experiment_ids(client, [name])[0]
    current = tracker().experiment_name
    for exp_name, exp_id in choices:
        if exp_name == current:
            return exp_id
    if not choices:
        # An empty store (or a fresh workspace): open on the experiment new runs go to.
        choices.append((current, tracker().experiment_id()))
    return choices[0][1]


def panel(
    experiment: str | None = None, filter: str = "", page_size: int = 25, live: bool = True
) -> Panel:
    """Show runs, comparisons, models and snapshots in a panel beside your cells.

    Parameters
    ----------
    experiment : str, optional
        Experiment to open on; default the current one.
    filter : str
        Initial MLflow filter, e.g. ``"metrics.acc > 0.8"``.
    page_size : int
        Rows per page: 10, 25, 50 or 100.
    live : bool
        Update statuses and charts of running runs by themselves.

    Examples
    --------
    >>> import jupyter_mlops as mlops
    >>> mlops.panel()                                   # doctest: +SKIP
    >>> mlops.panel("churn", filter="metrics.auc > 0.8")  # doctest: +SKIP
    """
    if page_size not in PAGE_SIZES:
        raise InvalidInput(
            f"page_size must be one of {', '.join(map(str, PAGE_SIZES))}, got {page_size!r}"
        )
    from ..tracking.reading.index import compile_filter

    compile_filter(filter)  # a bad filter is the caller's mistake: refuse before building
    return Panel(experiment, filter, page_size, live)
