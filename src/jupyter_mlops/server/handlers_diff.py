"""``GET run-diff?a=&b=``: what changed between two runs, for the JupyterLab Diff view."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..errors import InvalidInput
from .base import MlopsHandler

__all__ = ["routes"]


class RunDiffHandler(MlopsHandler):
    """``GET run-diff?a=RUN&b=RUN[&only=code,params][&all=true]``: a ``RunDiff`` as JSON."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..tracking.diff.api import diff_runs

        a = self.get_query_argument("a", "")
        b = self.get_query_argument("b", "")
        if not a or not b:
            raise InvalidInput("give two runs: ?a=RUN_ID&b=RUN_ID")
        only = self.get_query_argument("only", "") or None
        everything = self.get_query_argument("all", "").lower() in ("1", "true", "yes")
        client = self.state.client
        result = await self.call(
            lambda: diff_runs(a, b, only=only, everything=everything, client=client)
        )
        self.reply(result.to_dict())


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [("run-diff", RunDiffHandler)]
