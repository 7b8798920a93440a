"""Data snapshots: names and versions; diff, drift and validation between two versions."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..errors import InvalidInput
from .base import MlopsHandler
from .services import records

__all__ = ["routes"]


class SnapshotsHandler(MlopsHandler):
    """``GET snapshots[?name=]``: versions of a name, or the latest of every name."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..data.api import snapshots

        name = self.get_query_argument("name", "") or None
        store = self.state.settings.data_uri
        rows = await self.call(lambda: records(snapshots(name, store=store)))
        self.reply({"snapshots": rows})


class DiffHandler(MlopsHandler):
    """``GET snapshots/diff?a=&b=[&key=]``: schema, rows added/removed/changed, statistics."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..data.api import diff

        a, b = self._refs("a", "b")
        keys = [k for k in self.get_query_arguments("key") if k] or None
        store = self.state.settings.data_uri
        report = await self.call(lambda: diff(a, b, key=keys, store=store))
        self.reply(report.to_dict())

    def _refs(self, *names: str) -> list[str]:
        refs = [self.get_query_argument(n, "").strip() for n in names]
        if not all(refs):
            example = "&".join(f"{n}=train@v{i + 1}" for i, n in enumerate(names))
            raise InvalidInput(f"give two snapshot refs, e.g. ?{example}")
        return refs


class DriftHandler(DiffHandler):
    """``GET snapshots/drift?reference=&current=[&threshold=]``: per-column drift."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..data.api import drift

        reference, current = self._refs("reference", "current")
        raw = self.get_query_argument("threshold", "0.05")
        try:
            threshold = float(raw)
        except ValueError:
            threshold = -1.0
        if not 0 < threshold < 1:
            raise InvalidInput(f"threshold must be a p-value in (0, 1), got {raw!r}; e.g. 0.05")
        store = self.state.settings.data_uri
        report = await self.call(
            lambda: drift(reference, current, threshold=threshold, log=False, store=store)
        )
        self.reply(report.to_dict())


class ValidateHandler(DiffHandler):
    """``GET snapshots/validate?data=&against=``: anomalies of one version against another."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..data.validation.api import validate

        data, against = self._refs("data", "against")
        store = self.state.settings.data_uri
        report = await self.call(lambda: validate(data, against, log=False, store=store))
        self.reply(report.to_dict())


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [
        ("snapshots", SnapshotsHandler),
        ("snapshots/diff", DiffHandler),
        ("snapshots/drift", DriftHandler),
        ("snapshots/validate", ValidateHandler),
    ]
