"""The Data tab: snapshot names → versions (schema, rows, stored bytes); diff, drift, validate.

Calls :mod:`jupyter_mlops.data.api` (``snapshots``, ``info``, ``diff``, ``drift``) and
:mod:`jupyter_mlops.data.validation.api` (``validate``); loaded when the tab is first
opened so the panel opens fast.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..errors import InvalidInput, MlopsError
from .frames import frame_html
from .tables import esc, html_table, message

__all__ = ["DataTab"]


def _data_api() -> Any:
    try:
        from ..data import api
    except ImportError as exc:
        raise InvalidInput(
            f"the snapshot service is unavailable ({exc}); install jupyter-mlops with its "
            "data dependencies (pip install jupyter-mlops)"
        ) from None
    return api


class DataTab:
    """Browse snapshot versions and compare two of them."""

    def __init__(self) -> None:
        self.loaded = False
        self.versions_frame: Any = None
        self.diff_report: Any = None
        self.drift_report: Any = None
        self.validation_report: Any = None
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.load())
        self.message = w.HTML()
        self.names_html = w.HTML()
        self.name = w.Dropdown(description="Snapshot", options=[])
        self.name.observe(lambda c: self.show_versions(c["new"]), "value")
        self.versions_html = w.HTML()
        self.a = w.Dropdown(description="Old (A)", options=[])
        self.b = w.Dropdown(description="New (B)", options=[])
        self.key = w.Text(description="Key", placeholder="id (optional, for row matching)")
        self.diff_button = w.Button(description="Diff A → B")
        self.drift_button = w.Button(description="Drift of B vs A")
        self.diff_button.on_click(lambda _: self.diff())
        self.drift_button.on_click(lambda _: self.drift())
        self.validate_button = w.Button(description="Validate B against A")
        self.validate_button.on_click(lambda _: self.validate())
        self.schema_html = w.HTML()
        self.result_html = w.HTML()
        self.widget = w.VBox(
            [
                w.HBox([self.refresh_button, self.message]),
                self.names_html,
                self.name,
                self.versions_html,
                w.HBox([self.a, self.b]),
                w.HBox([self.key, self.diff_button, self.drift_button, self.validate_button]),
                self.schema_html,
                self.result_html,
            ]
        )

    def load(self) -> None:
        """(Re)read the snapshot store: the latest version of every name."""
        self.loaded = True
        try:
            frame = _data_api().snapshots()
        except MlopsError as exc:
            self.message.value = message(str(exc))
            return
        self.names_html.value = frame_html(frame) if len(frame) else ""
        names = sorted({str(ref).split("@")[0] for ref in frame["ref"]}) if len(frame) else []
        self.message.value = message(
            f"{len(names)} snapshot names"
            if names
            else "No snapshots yet: save one with mlops.snapshot(df, 'train')",
            "info",
        )
        current = self.name.value
        self.name.options = names
        if names:
            self.name.value = current if current in names else names[0]

    def show_versions(self, name: str | None) -> None:
        """List the versions of snapshot ``name`` and offer them as A and B."""
        if not name:
            self.versions_html.value = ""
            return
        try:
            frame = _data_api().snapshots(name)
        except MlopsError as exc:
            self.versions_html.value = message(str(exc))
            return
        self.versions_frame = frame
        self.versions_html.value = frame_html(frame)
        refs = [str(r) for r in frame["ref"]]
        self.a.options, self.b.options = refs, refs
        if refs:
            self.a.value = refs[-2] if len(refs) > 1 else refs[0]
            self.b.value = refs[-1]
            self.show_schema(refs[-1])

    def show_schema(self, ref: str) -> None:
        """Show the columns and types of snapshot version ``ref``."""
        try:
            info = _data_api().info(ref)
        except MlopsError as exc:
            self.schema_html.value = message(str(exc))
            return
        cols = [(c["name"], c["type"]) for c in info.get("columns", [])]
        self.schema_html.value = f"<b>Schema of {esc(ref)}</b>" + html_table(
            ["column", "type"], cols
        )

    def _pair(self) -> tuple[str, str]:
        if not self.a.value or not self.b.value:
            raise InvalidInput("pick two snapshot versions (A and B) first")
        return str(self.a.value), str(self.b.value)

    def diff(self) -> bool:
        """Diff version A against version B (by key when one is given)."""
        try:
            a, b = self._pair()
            key = [k.strip() for k in self.key.value.split(",") if k.strip()] or None
            self.diff_report = _data_api().diff(a, b, key=key)
        except MlopsError as exc:
            self.result_html.value = message(str(exc))
            return False
        self.result_html.value = (
            f"<b>Diff {esc(a)} → {esc(b)}</b><pre>{esc(self.diff_report)}</pre>"
        )
        return True

    def drift(self) -> bool:
        """Drift of version B against reference A (not logged to any run)."""
        try:
            a, b = self._pair()
            self.drift_report = _data_api().drift(a, b, log=False)
        except MlopsError as exc:
            self.result_html.value = message(str(exc))
            return False
        table = frame_html(self.drift_report.table)
        head = (
            f"<b>Drift of {esc(b)} vs {esc(a)}</b>: {esc(str(self.drift_report).splitlines()[0])}"
        )
        self.result_html.value = head + table
        return True

    def validate(self) -> bool:
        """Anomalies of version B against the rules of reference A (not logged to any run)."""
        try:
            a, b = self._pair()
            from ..data.validation.api import validate

            self.validation_report = validate(b, a, log=False)
        except MlopsError as exc:
            self.result_html.value = message(str(exc))
            return False
        self.result_html.value = f"<b>Validation of {esc(b)} against {esc(a)}</b>" + (
            self.validation_report.to_html()
        )
        return True
