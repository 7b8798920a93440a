"""``%mlops panel``: the ipywidgets panel (runs, compare, models, data)."""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import argument

from ._registry import subcommand


@subcommand("panel", '%mlops panel --experiment churn --filter "metrics.acc > 0.8"')
@argument("--experiment", help="experiment to open on (default: the current one)")
@argument("--filter", default="", help='initial MLflow filter, e.g. "metrics.acc > 0.8"')
@argument("--page-size", type=int, default=25, help="rows per page: 10, 25, 50 or 100")
@argument("--no-live", action="store_true", help="do not update running runs by themselves")
def panel(shell: Any, args: Any) -> None:
    """Show runs, comparisons, models and snapshots in a panel below the cell."""
    from IPython.display import display

    from ..widgets.panel import panel as build

    view = build(args.experiment, args.filter, args.page_size, live=not args.no_live)
    previous = shell.user_ns.get("_mlops_panel")
    if previous is not None and getattr(previous, "live", None) is not None:
        previous.live.stop()  # the newest panel is the live one; old ones stay as they are
    shell.user_ns["_mlops_panel"] = view
    display(view)
