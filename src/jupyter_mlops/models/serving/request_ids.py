"""Request ids on ``/invocations``: the ones a client sends, or new ones, one per row.

MLflow's scoring protocol ignores keys beside its input key, so a client may add
``"ids": [...]`` (its own ids, one per row) and ``"return_ids": true`` (ids in
the answer's body) to a JSON body; ``?ids=true`` asks for them too, and an
``X-Request-Id`` header (comma-separated) carries ids for CSV or Parquet bodies.
A body that asks nothing is parsed exactly once, by MLflow.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import InvalidInput
from ..prediction_log import new_ids

__all__ = ["ID_HEADER", "RequestIds", "answer_with_ids", "read_request_ids"]

ID_HEADER = "X-Request-Id"
_MAX_ID = 200


class RequestIds:
    """What a request says about ids: its own ``ids`` (or None) and whether to return them."""

    __slots__ = ("given", "in_body")

    def __init__(self, given: list[str] | None, in_body: bool) -> None:
        self.given, self.in_body = given, in_body

    def for_rows(self, n: int) -> list[str]:
        """The ids of ``n`` scored rows: the client's, else new ones."""
        if self.given is None:
            return new_ids(n)
        if len(self.given) != n:
            raise InvalidInput(
                f"'ids' has {len(self.given)} entries for {n} rows; send one id per row"
            )
        return self.given

    def first(self) -> str | None:
        """The first id the client sent (what canary routing hashes), or None."""
        return self.given[0] if self.given else None


def read_request_ids(body: bytes, content_type: str, query: Any, headers: Any) -> RequestIds:
    """Read the ids and ``return_ids`` of one request without parsing a body that has none.

    Raises
    ------
    InvalidInput
        ``ids`` is not a list of non-empty ids (strings or numbers).
    """
    in_body = str(query.get("ids", "")).lower() in ("1", "true", "yes")
    given: Any = None
    header = headers.get(ID_HEADER.lower())
    if header:
        given = [part.strip() for part in header.split(",")]
    asks = b'"ids"' in body or b'"return_ids"' in body
    if content_type.startswith("application/json") and asks:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None  # MLflow's parser answers the malformed body
        if isinstance(parsed, dict):
            in_body = in_body or parsed.get("return_ids") is True
            if "ids" in parsed:
                given = parsed["ids"]
    if given is None:
        return RequestIds(None, in_body)
    if not isinstance(given, list) or not all(_valid(i) for i in given):
        raise InvalidInput(
            "'ids' must be a list of request ids (strings or numbers, at most 200 characters), "
            'one per row, e.g. "ids": ["a1", "a2"]'
        )
    return RequestIds([str(i) for i in given], in_body)


def _valid(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    return 0 < len(str(value)) <= _MAX_ID and "," not in str(value)


def answer_with_ids(content: str, ids: list[str]) -> str:
    """MLflow's JSON answer with an ``ids`` list beside ``predictions``."""
    answer = json.loads(content)
    if isinstance(answer, dict):
        answer["ids"] = ids
    return json.dumps(answer)
