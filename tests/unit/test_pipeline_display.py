"""Progress displays: the terminal lines and the ipywidgets table follow unit states."""

from __future__ import annotations

import io

from jupyter_mlops.magics._pipelines import WidgetPipelineDisplay
from jupyter_mlops.pipelines.display import TerminalPipelineDisplay
from jupyter_mlops.pipelines.units import PipelineResult, Unit


def _units() -> list[Unit]:
    return [Unit("prep", 0, "prep", {}), Unit("train", 0, "train[lr=0.1]", {"lr": 0.1})]


def test_terminal_display_prints_state_changes_when_not_a_tty() -> None:
    out = io.StringIO()
    display = TerminalPipelineDisplay(out)
    units = _units()
    display.started(units, "r1")
    units[0].status, units[0].message, units[0].run_id = "cached", "cache hit", "abc"
    display.update(units[0])
    units[1].status = "running"
    display.update(units[1])
    units[1].detail = "1/2 cells, 0.4 s"
    display.update(units[1])  # progress detail is not logged line by line
    units[1].status, units[1].message, units[1].detail = "failed", "train failed in cell 1", ""
    display.update(units[1])
    display.finished(PipelineResult("p", "r1", "0", units, 1.5))
    lines = out.getvalue().splitlines()
    assert lines[0] == "pipeline run r1: 2 units"
    assert lines[1].startswith("≡ prep") and "cached" in lines[1] and "cache hit" in lines[1]
    assert "running" in lines[2] and "failed" in lines[3] and "cell 1" in lines[3]
    assert lines[4].startswith("pipeline p: 0 ran, 1 cached, 1 failed, 0 skipped in 1.5 s")
    assert len(lines) == 5


def test_widget_display_table_and_bar_follow_units() -> None:
    view = WidgetPipelineDisplay()
    units = _units()
    view.started(units, "r1")
    assert view.bar.max == 2 and view.bar.value == 0 and "r1" in view.header.value
    units[0].status = "ran"
    units[1].status, units[1].detail = "running", "0/2 cells, starting kernel"
    view.finished(PipelineResult("p", "r1", "0", units, 2.0))
    assert view.bar.value == 1 and view.bar.bar_style == "danger"
    assert "train[lr=0.1]" in view.table.value and "starting kernel" in view.table.value
    assert ">ran<" in view.table.value and ">running<" in view.table.value
