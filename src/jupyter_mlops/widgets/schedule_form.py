"""The Schedules tab's form to add a schedule: a name, a target, and a cron or a trigger.

What starts the schedule is one choice, as in JupyterLab's Schedule… dialog: a cron
expression (previewed in words with its next runs) or an event (a new version of a
snapshot, a move of a model's alias, an alert of a model), with the project's
snapshots, aliases or models offered as you type. The values go as typed to
:func:`jupyter_mlops.schedules.api.add_schedule`, the service the Lab form's REST
route calls: it checks them, and its one line is what a mistake shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import MlopsError
from .tables import esc, message, time_html

__all__ = ["STARTS", "ScheduleForm", "subjects"]

#: what starts a schedule: choice shown, the field's label, an example, the option it fills
STARTS: dict[str, tuple[str, str, str, str | None]] = {
    "cron": ("On a cron schedule", "Cron", "0 3 * * *", None),
    "snapshot": ("When a snapshot gets a new version", "Snapshot", "customers", "on_snapshot"),
    "promotion": ("When a model's alias moves", "Model@alias", "churn@production", "on_promotion"),
    "alert": ("When a model raises an alert", "Model", "churn", "on_alert"),
}


def _api() -> Any:
    from ..schedules import api

    return api


_FIELD = {"style": {"description_width": "90px"}, "layout": {"width": "420px"}}


def _field(label: str, placeholder: str) -> w.Text:
    return w.Text(description=label, placeholder=placeholder, continuous_update=False, **_FIELD)


def subjects(kind: str) -> list[str]:
    """What a trigger of ``kind`` may name: snapshot names, ``MODEL@ALIAS`` or model names."""
    try:
        if kind == "snapshot":
            from ..data import api as data_api

            refs = data_api.snapshots()["ref"]
            return sorted({str(r).split("@")[0] for r in refs})
        from ..models import api as models_api

        versions = models_api.models()
    except MlopsError:
        return []  # suggestions only: the service still checks what is typed
    if kind == "alert":
        return sorted(set(versions["name"]))
    pairs = {(v.name, a.strip()) for v in versions.itertuples() for a in str(v.aliases).split(",")}
    return sorted(f"{name}@{alias}" for name, alias in pairs if alias)


class ScheduleForm:
    """Add a schedule; ``on_added(name)`` runs after one was stored."""

    def __init__(self, on_added: Callable[[str], None]) -> None:
        self.on_added = on_added
        self.name = _field("Name", "nightly")
        self.target = _field("Target", "train.ipynb or pipeline.yaml")
        self.starts = w.Dropdown(
            description="Starts",
            options=[(choice, kind) for kind, (choice, *_) in STARTS.items()],
            value="cron",
            **_FIELD,
        )
        self.cron = _field("Cron", STARTS["cron"][2])
        self.timezone = _field("Timezone", "UTC")
        self.subject = w.Combobox(ensure_option=False, continuous_update=False, **_FIELD)
        self.preview = w.HTML()
        self.add_button = w.Button(description="Add schedule", icon="plus", button_style="primary")
        self.add_button.on_click(lambda _: self.add())
        self.message = w.HTML()
        self.cron_box = w.VBox([self.cron, self.preview, self.timezone])
        self.starts.observe(lambda _: self._show_kind(), "value")
        for field in (self.cron, self.timezone):
            field.observe(lambda _: self.show_preview(), "value")
        self._show_kind()
        self.widget = w.VBox(
            [
                w.HTML("<b>Add a schedule</b>"),
                self.name,
                self.target,
                self.starts,
                self.cron_box,
                self.subject,
                w.HBox([self.add_button, self.message]),
            ]
        )

    def _show_kind(self) -> None:
        kind = self.starts.value
        _, label, example, _ = STARTS[kind]
        self.cron_box.layout.display = "" if kind == "cron" else "none"
        self.subject.layout.display = "none" if kind == "cron" else ""
        if kind != "cron":
            self.subject.description, self.subject.placeholder = label, example
            self.subject.options = subjects(kind)

    def show_preview(self) -> None:
        """The cron expression in words and its next runs (or the service's line on it)."""
        cron = self.cron.value.strip()
        if not cron:
            self.preview.value = ""
            return
        try:
            found = _api().preview_cron(cron, self.timezone.value.strip() or None)
        except MlopsError as exc:
            self.preview.value = message(str(exc))
            return
        runs = ", ".join(time_html(t) for t in found["next"]) or "never"
        self.preview.value = f"{esc(found['text'])} ({esc(found['timezone'])}); next: {runs}"

    def add(self) -> None:
        """Store the schedule the fields describe, or show the line saying what is wrong."""
        kind = self.starts.value
        option = STARTS[kind][3]
        options: dict[str, Any] = {}
        if option is None:
            cron: str | None = self.cron.value.strip()
            options["timezone"] = self.timezone.value.strip() or None
        else:
            cron = None
            options[option] = [self.subject.value.strip()]
        name = self.name.value.strip()
        try:
            added = _api().add_schedule(name, self.target.value.strip(), cron, **options)
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        self.on_added(added.name)
        self.message.value = message(f"added schedule {added.name}", "ok")
