"""The runs table: every matching run as columns, for the wide table and its charts."""

from __future__ import annotations

import json
from typing import Any

import tornado.web

from ..errors import InvalidInput
from ..tracking.reading import columns as table
from .base import MlopsHandler

__all__ = ["routes"]

#: most characters of JSON text kept for reuse
ENCODED_CHARS = 64_000_000
#: JSON text of recent answers, by the identity of the (cached) answer it encodes
_encoded = table.AnswerCache(table.ANSWERS_KEPT, ENCODED_CHARS)


def encode(answer: dict[str, Any]) -> str:
    """JSON text of a :func:`~.tracking.reading.columns.runs_columns` answer, kept while cached.

    Its values are finite already (non-finite metrics are ``null``), so it is encoded as is.
    """
    hit = _encoded.get(id(answer))
    if hit is not None and hit[0] is answer:
        return str(hit[1])
    text = json.dumps(answer, allow_nan=False, separators=(",", ":"))
    _encoded.put(id(answer), (answer, text), len(text))
    return text


def _flag(raw: str) -> bool:
    if raw.lower() in ("", "0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise InvalidInput(f"nested must be true or false, got {raw!r}")


class RunsTableHandler(MlopsHandler):
    """``GET runs-table``: matching runs of some experiments as one array per field."""

    @tornado.web.authenticated
    async def get(self) -> None:
        ids = [i for i in self.get_query_arguments("experiment_id") if i]
        filter_string = self.get_query_argument("filter", "")
        order_by = [o for o in self.get_query_arguments("order_by") if o.strip()]
        columns = [c for c in self.get_query_arguments("column") if c]
        limit = self.int_arg("limit", table.MAX_ROWS, 1, table.MAX_ROWS)
        nested = _flag(self.get_query_argument("nested", ""))
        state = self.state

        def answer() -> str:
            return encode(
                table.runs_columns(
                    state.settings.tracking_uri,
                    ids,
                    state.client,
                    filter_string,
                    order_by,
                    columns,
                    limit,
                    nested=nested,
                )
            )

        text = await self.call(answer)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(text)


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [("runs-table", RunsTableHandler)]
