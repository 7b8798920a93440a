"""The Schedules tab: every schedule, pause/resume, run now, remove, its runs and ticks.

Calls :mod:`jupyter_mlops.schedules.api`; loaded when the tab is first opened. Below the
table, :class:`.schedule_form.ScheduleForm` adds a schedule.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..errors import MlopsError
from .schedule_form import ScheduleForm
from .tables import esc, html_table, message, status_html, time_html

__all__ = ["SchedulesTab"]


def _api() -> Any:
    from ..schedules import api

    return api


class SchedulesTab:
    """Schedules of the project's store, and what can be done to one."""

    def __init__(self) -> None:
        self.loaded = False
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.load())
        self.message = w.HTML()
        self.table_html = w.HTML()
        self.schedule = w.Dropdown(description="Schedule", options=[])
        self.schedule.observe(lambda c: self.show(c["new"]), "value")
        self.buttons = {
            label: w.Button(description=label, layout=w.Layout(width="auto"))
            for label in ("Pause", "Resume", "Run now", "Remove")
        }
        for label, button in self.buttons.items():
            button.on_click(lambda _, action=label: self.act(action))
        self.history_html = w.HTML()
        self.form = ScheduleForm(self._added)
        self.widget = w.VBox(
            [
                w.HBox([self.refresh_button, self.message]),
                self.table_html,
                w.HBox([self.schedule, *self.buttons.values()]),
                self.history_html,
                self.form.widget,
            ]
        )

    def _added(self, name: str) -> None:
        self.load()
        self.schedule.value = name

    def load(self) -> None:
        """(Re)read the schedules."""
        self.loaded = True
        try:
            found = _api().list_schedules()
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        rows = [
            (
                s["name"],
                s["target"],
                s.get("when") or s["cron_text"],
                _next_run(s),
                status_html(s["last_status"]) if s["last_status"] else "-",
            )
            for s in found
        ]
        header = ["name", "target", "when", "next run", "last run"]
        self.table_html.value = html_table(header, rows, raw_columns=[3, 4]) if rows else ""
        self.message.value = message(
            f"{len(rows)} schedule(s)"
            if rows
            else "No schedules yet: add one below (or %mlops schedule add NAME FILE --cron EXPR)",
            "info",
        )
        names = [s["name"] for s in found]
        current = self.schedule.value
        self.schedule.options = names
        self.schedule.value = current if current in names else (names[0] if names else None)

    def act(self, action: str) -> None:
        """Pause, resume, run now or remove the selected schedule."""
        name = self.schedule.value
        if not name:
            return
        api = _api()
        calls = {
            "Pause": api.pause_schedule,
            "Resume": api.resume_schedule,
            "Run now": api.run_now,
            "Remove": api.remove_schedule,
        }
        try:
            done = calls[action](name)
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        note = f"run {done} started" if action == "Run now" else f"{action.lower()}: done"
        self.load()
        self.message.value = message(f"{name}: {note}", "ok")

    def show(self, name: str | None) -> None:
        """Show the latest runs and recorded ticks of ``name``."""
        if not name:
            self.history_html.value = ""
            return
        try:
            history = _api().schedule_history(name, max_results=10)
        except MlopsError as exc:
            self.history_html.value = message(str(exc))
            return
        runs = [
            (r["run_id"], _tick(r["tick"]), r["trigger"], status_html(r["status"]),
             time_html(r["start_time"]))
            for r in history["runs"]
        ]  # fmt: skip
        ticks = [(_tick(t["tick"]), t["outcome"], t["note"], t["by"]) for t in history["ticks"]]
        header = ["run", "tick", "trigger", "status", "started"]
        self.history_html.value = (
            "<b>Runs</b>"
            + html_table(header, runs, raw_columns=[1, 3, 4])
            + "<b>Ticks</b>"
            + html_table(["tick", "outcome", "note", "scheduler"], ticks, raw_columns=[0])
        )


def _next_run(schedule: dict[str, Any]) -> str:
    if schedule["paused"]:
        return "paused"
    return time_html(schedule["next_run"]) if schedule["next_run"] else "at the next event"


def _tick(tick: Any) -> str:
    """A tick (its time) relative to now; an event's identity, or none, as text."""
    shown = time_html(tick)
    return shown if shown != "-" or not tick else esc(tick)
