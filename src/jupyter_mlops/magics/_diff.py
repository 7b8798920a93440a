"""``%mlops diff A B``: two runs -> the run diff (as HTML); two snapshots or frames -> data diff."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..tracking.diff import api
from ._data import _data_or_ref
from ._registry import subcommand

_FORM = "%mlops diff RUN_A RUN_B | %mlops diff RUN_A --against NB.ipynb | %mlops diff train@v1 df"


@subcommand("diff", "%mlops diff baseline tuned --only code,params")
@argument("a", help="run id or name, snapshot ref (train@v1) or variable")
@argument("b", nargs="?", help="the other run, snapshot ref or variable")
@argument("--against", metavar="NB", help="compare run A with this notebook file")
@argument("--only", metavar="SECTIONS", help="code,params,metrics,data,env,outputs")
@argument("--all", action="store_true", help="show everything, not only what differs")
@argument("--key", action="append", help="data diff: column identifying rows (repeatable)")
def diff(shell: Any, args: Any) -> Any:
    """What changed between two runs (cell by cell, params, metrics, data, env) or two snapshots."""
    a, b = _data_or_ref(shell, args.a), None if args.b is None else _data_or_ref(shell, args.b)
    if (b is None) == (args.against is None):
        raise UsageError(f"give two runs, a run and --against, or two snapshots; usage: {_FORM}")
    if args.key or api.is_data(a) or api.is_data(b):
        if args.against or args.only or args.all:
            raise UsageError(f"--against, --only and --all are for runs; usage: {_FORM}")
        return api.diff(a, b, key=args.key)
    return api.diff_runs(a, b, against=args.against, only=args.only, everything=args.all)
