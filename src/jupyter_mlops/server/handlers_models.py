"""Registered models, versions, aliases, audit history and gated promotion."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..errors import InvalidInput
from .base import MlopsHandler
from .services import records, use_server_store

__all__ = ["routes"]

NAME = r"(?P<name>[^/]+)"


class ModelsHandler(MlopsHandler):
    """``GET models[?name=]``: versions with aliases and source-run metrics."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..models.api import models

        name = self.get_query_argument("name", "") or None
        settings = self.state.settings

        def _list() -> list[dict[str, Any]]:
            use_server_store(settings)
            return records(models(name))

        self.reply({"versions": await self.call(_list)})


class HistoryHandler(MlopsHandler):
    """``GET models/{name}/history``: every promotion and refusal, oldest first."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        from ..models.api import history

        settings = self.state.settings

        def _history() -> list[dict[str, Any]]:
            use_server_store(settings)
            return records(history(name))

        self.reply({"model": name, "history": await self.call(_history)})


class MonitoringHandler(MlopsHandler):
    """``GET models/{name}/monitoring``: each version's latest monitoring runs and alerts."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        from ..models.api import monitoring

        settings = self.state.settings

        def _monitoring() -> list[dict[str, Any]]:
            use_server_store(settings)
            return records(monitoring(name))

        self.reply({"model": name, "monitoring": await self.call(_monitoring)})


class PerformanceHandler(MlopsHandler):
    """``GET models/{name}/performance[?window=1000&buckets=12]``: live performance over time."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        from ..models.live_performance import DEFAULT_BUCKETS, performance_over_time
        from ..models.prediction_log import DEFAULT_WINDOW

        window = self.int_arg("window", DEFAULT_WINDOW, 1, 1_000_000)
        buckets = self.int_arg("buckets", DEFAULT_BUCKETS, 1, 200)
        settings = self.state.settings

        def _performance() -> dict[str, Any]:
            use_server_store(settings)
            return performance_over_time(name, window=window, buckets=buckets)

        self.reply(await self.call(_performance))


class PromoteHandler(MlopsHandler):
    """``POST models/{name}/promote``: move an alias if every gate passes (409 otherwise)."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        from ..models.api import promote
        from ..models.gates import PromotionRefused

        body = self.json_body()
        require = body.get("require", [])
        if isinstance(require, str):
            require = [require]
        if not isinstance(require, list) or not all(isinstance(r, str) for r in require):
            raise InvalidInput('require must be a list of gates, e.g. ["accuracy>=0.9"]')
        settings = self.state.settings

        def _promote() -> Any:
            use_server_store(settings)
            return promote(
                name,
                body.get("version", ""),
                str(body.get("alias", "")),
                require=require,
                beat=body.get("beat") or None,
                on=body.get("on") or None,
                lower_is_better=bool(body.get("lower_is_better", False)),
            )

        try:
            report = await self.call(_promote)
        except PromotionRefused as refused:
            self.reply({"message": str(refused), "report": refused.report.to_dict()}, status=409)
            return
        self.reply({"report": report.to_dict()})


class CardHandler(MlopsHandler):
    """``GET models/{name}/card[?version=3|?alias=production]``: the model card, generated now."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        from ..models.api import model_card

        version = self.get_query_argument("version", "")
        alias = self.get_query_argument("alias", "")
        if version and alias:
            raise InvalidInput("give ?version=N or ?alias=NAME, not both")
        ref = f"{name}/{version}" if version else f"{name}@{alias}" if alias else name
        settings = self.state.settings

        def _card() -> Any:
            use_server_store(settings)
            return model_card(ref)

        card = await self.call(_card)
        html = card.html
        self.reply(
            {"model": card.name, "version": card.version, "markdown": card.markdown, "html": html}
        )


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [
        ("models", ModelsHandler),
        (f"models/{NAME}/history", HistoryHandler),
        (f"models/{NAME}/monitoring", MonitoringHandler),
        (f"models/{NAME}/performance", PerformanceHandler),
        (f"models/{NAME}/promote", PromoteHandler),
        (f"models/{NAME}/card", CardHandler),
    ]
