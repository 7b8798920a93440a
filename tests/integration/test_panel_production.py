"""The panel's production views on a real store, widget state asserted in Python: moments
read relative to now with the absolute time on hover, schedules said in words.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.widgets.tables import relative_time, time_html

pytestmark = pytest.mark.integration

#: a moment shown as an absolute date and time in a cell's text (not in its tooltip)
RAW_DATE = re.compile(r">[^<]*\d{4}-\d\d-\d\d[ T]\d\d:\d\d")
UTC = dt.timezone.utc


def test_a_moment_reads_relative_to_now_with_the_absolute_one_on_hover() -> None:
    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # the same date in most zones
    cases = {
        now - dt.timedelta(seconds=20): "just now",
        now - dt.timedelta(minutes=3): "3 min ago",
        now - dt.timedelta(hours=5): "5 h ago",
        now - dt.timedelta(days=2): "2 d ago",
        now + dt.timedelta(minutes=10): "in 10 min",
    }
    for moment, words in cases.items():
        assert relative_time(moment, now) == words
    assert relative_time(now - dt.timedelta(days=400), now) == "Nov 1, 2025"
    ms = int((now - dt.timedelta(minutes=3)).timestamp() * 1000)
    shown = {
        time_html(ms, now),
        time_html("2026-12-06T11:57:00+00:00", now),
        time_html("2026-12-06T11:57:00Z", now),
        time_html(dt.datetime(2026, 12, 6, 11, 57), now),  # no offset: UTC, as services give it
    }
    assert len(shown) == 1, shown
    (html,) = shown
    absolute = dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
    assert html.startswith(f'<time datetime="2026-12-06T11:57:00+00:00" title="{absolute}')
    assert html.endswith(">3 min ago</time>")
    assert time_html(None) == time_html("") == time_html(float("nan")) == "-"
    assert time_html("<b>not a time</b>") == "-"


def test_panel_tabs_show_moments_relative(store, client) -> None:
    import pandas as pd

    mlops.experiment("moments")
    exp = client.get_experiment_by_name("moments").experiment_id
    started = int(time.time() * 1000) - 3 * 60_000
    rid = client.create_run(exp, start_time=started, run_name="three-minutes-ago").info.run_id
    client.set_terminated(rid, end_time=started + 60_000)
    mlops.snapshot(pd.DataFrame({"x": range(3)}), "customers")
    p = mlops.panel(live=False)
    try:
        runs = _html(p.runs.widget)
        assert "3 min ago" in runs and RAW_DATE.search(runs) is None, runs
        p.tabs.selected_index = 3  # Data: a snapshot's creation time
        data = _html(p.data.widget)
        assert "just now" in data and RAW_DATE.search(data) is None, data
    finally:
        p.close()


def test_schedules_tab_says_when_in_words_and_next_run_relative(store) -> None:
    import pandas as pd

    from jupyter_mlops.testing.notebooks import code, write_notebook

    write_notebook(store.root / "score.ipynb", [code("print(1)")])
    mlops.snapshot(pd.DataFrame({"x": range(3)}), "customers")
    mlops.schedule("nightly", store.root / "score.ipynb", cron="0 3 * * *")
    mlops.schedule("on-data", store.root / "score.ipynb", on_snapshot=["customers"])
    p = mlops.panel(live=False)
    try:
        p.tabs.selected_index = 4
        table = p.schedules.table_html.value
        assert "when a new version of snapshot customers is written" in table
        assert "at the next event" in table
        assert re.search(r'<time datetime="[^"]+" title="[^"]+">in \d+ (min|h)</time>', table)
        assert RAW_DATE.search(table) is None, table
    finally:
        p.close()


def _html(widget) -> str:  # type: ignore[no-untyped-def]
    import ipywidgets as w

    parts = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        parts.append(_html(child))
    return "\n".join(parts)
