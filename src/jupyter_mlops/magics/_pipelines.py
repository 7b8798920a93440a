"""``%mlops pipeline run | show`` and ``%mlops search``: pipelines and searches, live progress.

In a kernel with a widget frontend the progress is an ipywidgets table (one
row per unit: state, elapsed, running cell); elsewhere it is printed lines.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any

from IPython.core.magic_arguments import argument

from ..errors import InvalidInput
from ..headless.parameters import cli_params
from ..pipelines import api as pipeline_api
from ..pipelines.units import PipelineListener, PipelineResult, Unit
from ._registry import subcommand
from ._runs import _parameter_arguments

__all__ = ["WidgetPipelineDisplay"]

_COLOURS = {
    "running": "#1a73e8",
    "ran": "#188038",
    "cached": "#5f6368",
    "failed": "#d93025",
    "skipped": "#e37400",
    "pruned": "#9334e6",
}
_REDRAW_S = 0.25


class WidgetPipelineDisplay(PipelineListener):
    """An ipywidgets view of a pipeline run: a progress bar and a table of units."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="pipeline")
        self.header = widgets.HTML()
        self.table = widgets.HTML()
        self.view = widgets.VBox([widgets.HBox([self.bar, self.header]), self.table])
        self._units: list[Unit] = []
        self._last = 0.0

    def started(self, units: list[Unit], parent_run_id: str) -> None:
        from IPython.display import display

        self._units = units
        self.bar.max = max(len(units), 1)
        self.header.value = f"&nbsp;run <code>{parent_run_id}</code>"
        self._render(force=True)
        display(self.view)

    def update(self, unit: Unit) -> None:
        self._render()

    def finished(self, result: PipelineResult) -> None:
        self.header.value = f"&nbsp;{html.escape(result.summary())}"
        self.bar.bar_style = "success" if result.ok else "danger"
        self._render(force=True)

    def _render(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < _REDRAW_S:
            return
        self._last = now
        self.bar.value = sum(u.done for u in self._units)
        rows = "".join(_row(u) for u in self._units)
        self.table.value = (
            "<table style='font-family:monospace;font-size:12px'>"
            "<tr><th align=left>unit</th><th align=left>state</th><th align=right>time</th>"
            f"<th align=left>run</th><th align=left>detail</th></tr>{rows}</table>"
        )


def _row(unit: Unit) -> str:
    colour = _COLOURS.get(unit.status, "#80868b")
    note = unit.detail if unit.status == "running" else (unit.message.splitlines() or [""])[0]
    timed = ("running", "ran", "failed", "pruned")
    elapsed = f"{unit.elapsed_s:.1f}s" if unit.status in timed else ""
    return (
        f"<tr><td>{html.escape(unit.label)}</td>"
        f"<td style='color:{colour}'>{unit.status}</td><td align=right>{elapsed}</td>"
        f"<td>{(unit.run_id or '')[:12]}</td><td>{html.escape(note)}</td></tr>"
    )


def _listener(shell: Any, quiet: bool) -> PipelineListener | None:
    if quiet:
        return None
    if getattr(shell, "kernel", None) is not None:
        return WidgetPipelineDisplay()
    from ..pipelines.display import TerminalPipelineDisplay

    return TerminalPipelineDisplay(sys.stdout, live=False)


@subcommand("pipeline", "%mlops pipeline run pipeline.yaml --jobs 2")
@argument("action", help="run (execute the DAG) or show (DAG and cache state, runs nothing)")
@argument("pipeline", nargs="?", default="pipeline.yaml", help="default pipeline.yaml")
@argument("--jobs", "-j", type=int, help="units at once (default: number of cores)")
@argument("--executor", default="local", help="local or dask://HOST:PORT")
@argument("--only", action="append", default=[], metavar="STEP", help="only this step")
@argument("--from", dest="from_step", metavar="STEP", help="this step and downstream")
@argument("--force", action="store_true", help="ignore the cache for the selected steps")
@argument("--resume", action="store_true", help="reuse what finished in the last run")
@argument("--quiet", "-q", action="store_true", help="no progress display")
def pipeline(shell: Any, args: Any) -> Any:
    """Run or show a notebook pipeline (pipeline.yaml); returns the result or the plan."""
    if args.action == "show":
        plan = pipeline_api.show_pipeline(
            args.pipeline, only=args.only, from_step=args.from_step, force=args.force
        )
        print(plan.text())
        return plan
    if args.action != "run":
        raise InvalidInput(
            f"unknown action {args.action!r}; use %mlops pipeline run|show [pipeline.yaml]"
        )
    result = pipeline_api.run_pipeline(
        args.pipeline,
        jobs=args.jobs,
        executor=args.executor,
        only=args.only,
        from_step=args.from_step,
        force=args.force,
        resume=args.resume,
        listener=_listener(shell, args.quiet),
    )
    for unit in result.failures():
        print(f"{unit.label} failed:\n{unit.message}\n")
    return result


@subcommand(
    "search",
    "%mlops search train.ipynb -y 'lr: {low: 0.001, high: 0.3, log: true}' "
    "--method tpe --trials 20 --metric accuracy -j 2",
)
@argument("notebook", help="the .ipynb whose parameters are searched")
@_parameter_arguments
@argument("--method", default="tpe", help="random, tpe (default), cmaes or qmc")
@argument("--trials", type=int, help="how many trials the study holds (required)")
@argument("--metric", help="metric the notebook logs, to optimize (required)")
@argument("--direction", help="maximize (default) or minimize")
@argument("--pruner", help="none (default), median, successive_halving or hyperband")
@argument("--seed", type=int, help="seed of the sampler (reproducible trials)")
@argument("--jobs", "-j", type=int, help="trials at once (default: number of cores)")
@argument("--executor", default="local", help="local or dask://HOST:PORT")
@argument("--experiment", help="experiment (default: configured, else the notebook's name)")
@argument("--force", action="store_true", help="start the study over")
@argument("--quiet", "-q", action="store_true", help="no progress display")
def search(shell: Any, args: Any) -> Any:
    """Search a notebook's parameters (ranges via -y 'x: {low: 0, high: 1}'); returns the result."""
    from ..pipelines.search.api import search as run_search
    from ..pipelines.search.config import SWEEP_KEYS

    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    result = run_search(
        args.notebook,
        params,
        {k: getattr(args, k) for k in SWEEP_KEYS if getattr(args, k) is not None},
        jobs=args.jobs,
        executor=args.executor,
        experiment=args.experiment,
        force=args.force,
        listener=_listener(shell, args.quiet),
    )
    for unit in result.pipeline.failures():
        print(f"{unit.label} failed:\n{unit.message}\n")
    return result
