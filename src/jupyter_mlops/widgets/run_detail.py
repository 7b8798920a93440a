"""Detail of one run: params, metrics, tags, artifacts, input snapshots and metric charts."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from ..errors import MlopsError
from ..tracking.reading import browse
from ..tracking.reading.index import UNFINISHED, RunRow
from .charts import history_chart, output_of
from .tables import esc, html_table, message, status_html, time_html

__all__ = ["RunDetail"]

#: most artifact entries listed (folders are walked breadth first)
MAX_ARTIFACTS = 200
SECTIONS = ("Params", "Metrics", "Tags", "Artifacts", "Inputs")


class RunDetail:
    """The lower half of the Runs tab; :meth:`show` a run, :meth:`refresh_live` while it runs."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()
        self.run_id: str | None = None
        self.status: str | None = None
        self.detail: dict[str, Any] = {}
        self.history: dict[str, Any] = {}
        self.header = w.HTML(message("Select a run to see its details.", "info"))
        self.sections = {name: w.HTML() for name in SECTIONS}
        self.tabs = w.Tab(children=list(self.sections.values()), titles=list(SECTIONS))
        self.chart = w.Output()
        self.widget = w.VBox([self.header, self.tabs, self.chart])

    def show(self, row: RunRow | None) -> None:
        """Load and render run ``row`` (``None`` clears the view)."""
        with self._lock:
            self.run_id = row.run_id if row else None
            if row is None:
                self._clear()
                return
            try:
                self.detail = browse.run_detail(self._client, row.run_id)
                self.history = browse.metric_history(self._client, row.run_id, [])
                artifacts = self._artifacts(row.run_id)
            except MlopsError as exc:
                self.header.value = message(str(exc))
                return
            self._render(artifacts)

    def refresh_live(self) -> bool:
        """Re-read the shown run if it has not ended (or just ended); return whether it did."""
        with self._lock:
            if self.run_id is None or self.status not in UNFINISHED:
                return False
            try:
                self.detail = browse.run_detail(self._client, self.run_id)
                self.history = browse.metric_history(self._client, self.run_id, [])
            except MlopsError:
                return False  # the next tick tries again; a transient error is not news
            self._render(None)
            return True

    def _clear(self) -> None:
        self.status, self.detail, self.history = None, {}, {}
        self.header.value = message("Select a run to see its details.", "info")
        for section in self.sections.values():
            section.value = ""
        self.chart.outputs = ()

    def _artifacts(self, run_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        folders = [""]
        while folders and len(found) < MAX_ARTIFACTS:
            for entry in browse.list_artifacts(self._client, run_id, folders.pop(0)):
                found.append(entry)
                if entry["is_dir"]:
                    folders.append(entry["path"])
        return found[:MAX_ARTIFACTS]

    def _render(self, artifacts: list[dict[str, Any]] | None) -> None:
        d = self.detail
        self.status = d["status"]
        end = time_html(d["end_time"]) if d["end_time"] else "(running)"
        self.header.value = (
            f"<b>{esc(d['name'])}</b> <code>{esc(d['run_id'])}</code> {status_html(d['status'])} "
            f"&middot; {time_html(d['start_time'])} → {end}"
        )
        s = self.sections
        s["Params"].value = html_table(["param", "value"], sorted(d["params"].items()))
        metric_rows = [
            (k, v, len(self.history.get(k, []))) for k, v in sorted(d["metrics"].items())
        ]
        s["Metrics"].value = html_table(["metric", "latest", "points"], metric_rows)
        s["Tags"].value = html_table(["tag", "value"], sorted(d["tags"].items()))
        if artifacts is not None:
            s["Artifacts"].value = html_table(
                ["path", "size (bytes)"],
                [(a["path"] + ("/" if a["is_dir"] else ""), a["file_size"]) for a in artifacts],
            )
        s["Inputs"].value = html_table(
            ["snapshot", "digest", "source", "context"],
            [
                (i["name"], i["digest"], i["source"], i["tags"].get("mlflow.data.context", ""))
                for i in d["inputs"]
            ],
        )
        if self.history:
            self.chart.outputs = output_of(history_chart({d["name"]: self.history}))
        else:
            self.chart.outputs = ()
