"""The runs table: every matching run as columns, for the wide table and its charts."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..tracking import table
from .base import MlopsHandler

__all__ = ["routes"]


class RunsTableHandler(MlopsHandler):
    """``GET runs-table``: matching runs of some experiments as one array per field."""

    @tornado.web.authenticated
    async def get(self) -> None:
        ids = [i for i in self.get_query_arguments("experiment_id") if i]
        filter_string = self.get_query_argument("filter", "")
        order_by = [o for o in self.get_query_arguments("order_by") if o.strip()]
        columns = [c for c in self.get_query_arguments("column") if c]
        limit = self.int_arg("limit", table.MAX_ROWS, 1, table.MAX_ROWS)
        state = self.state
        body = await self.call(
            lambda: table.runs_columns(
                state.settings.tracking_uri,
                ids,
                state.client,
                filter_string,
                order_by,
                columns,
                limit,
            )
        )
        self.reply(body)


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [("runs-table", RunsTableHandler)]
