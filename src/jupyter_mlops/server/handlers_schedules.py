"""Schedules: list, add, pause, resume, run now, remove, a cron preview for forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from ..errors import InvalidInput, NotFound
from .base import MlopsHandler

__all__ = ["routes"]

NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})"
_TARGET_SUFFIXES = (".ipynb", ".yaml", ".yml")


def target_inside(root: Path, rel: Any) -> Path:
    """Return the schedule target ``rel`` under ``root``, refusing anything outside it."""
    text = rel.strip() if isinstance(rel, str) else ""
    if not text or "\x00" in text:
        raise InvalidInput("give the target's path relative to the server root, e.g. train.ipynb")
    base = root.resolve()
    target = (base / text).resolve()
    if not target.is_relative_to(base):
        raise InvalidInput(f"target {text!r} is outside the server's root directory")
    if target.suffix not in _TARGET_SUFFIXES:
        raise InvalidInput(f"{text!r} must be a notebook (.ipynb) or a pipeline file (.yaml)")
    if not target.is_file():
        raise NotFound(f"no file {text!r} under the server's root directory")
    return target


def _strings(body: dict[str, Any], key: str, example: str = "https://hooks/x") -> list[str]:
    value = body.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f'{key} must be a string or a list of strings, e.g. ["{example}"]')
    return value


def _add_arguments(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise InvalidInput('params must be an object, e.g. {"lr": 0.05}')
    grace = body.get("grace_s", 3600.0)
    if isinstance(grace, bool) or not isinstance(grace, (int, float)):
        raise InvalidInput('grace_s must be a number of seconds, e.g. {"grace_s": 3600}')
    text = {k: body.get(k) for k in ("name", "cron", "timezone", "experiment", "overlap")}
    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f'{key} must be a string, e.g. {{"{key}": "..."}}')
    return {
        "name": text["name"] or "",
        "cron": text["cron"] or "",
        "timezone": text["timezone"] or None,
        "experiment": text["experiment"] or None,
        "overlap": text["overlap"] or "skip",
        "params": params,
        "grace_s": float(grace),
        "on_failure": _strings(body, "on_failure"),
        "on_success": _strings(body, "on_success"),
        "on_snapshot": _strings(body, "on_snapshot", "customers"),
        "on_promotion": _strings(body, "on_promotion", "churn@production"),
        "on_alert": _strings(body, "on_alert", "churn"),
    }


class SchedulesHandler(MlopsHandler):
    """``GET schedules``: every schedule and this server's scheduler; ``POST``: add one."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..schedules.api import list_schedules

        settings = self.state.settings
        found = await self.call(lambda: list_schedules(settings=settings))
        scheduler = self.settings.get("jupyter_mlops_scheduler")
        self.reply({"schedules": found, "scheduler": scheduler.status() if scheduler else None})

    @tornado.web.authenticated
    async def post(self) -> None:
        from ..schedules.api import add_schedule, describe_schedule
        from ..schedules.store import ScheduleStore

        body = self.json_body()
        arguments = _add_arguments(body)
        target = target_inside(self.state.root_dir, body.get("target"))
        settings = self.state.settings

        def add() -> dict[str, Any]:
            name, cron = arguments.pop("name"), arguments.pop("cron")
            added = add_schedule(name, target, cron, settings=settings, **arguments)
            return describe_schedule(ScheduleStore(settings), added)

        self.reply(await self.call(add), status=201)


class ScheduleHandler(MlopsHandler):
    """``GET schedules/{name}``: it, its runs and ticks; ``DELETE``: remove it."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        from ..schedules.api import schedule_history

        limit = self.int_arg("max_results", 20, 1, 200)
        settings = self.state.settings
        self.reply(await self.call(schedule_history, name, max_results=limit, settings=settings))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        from ..schedules.api import remove_schedule

        removed = await self.call(remove_schedule, name, settings=self.state.settings)
        self.reply(removed.to_dict())


class ScheduleActionHandler(MlopsHandler):
    """``POST schedules/{name}/pause|resume|run``."""

    @tornado.web.authenticated
    async def post(self, name: str, action: str) -> None:
        from ..schedules import api

        settings = self.state.settings
        if action == "run":
            run_id = await self.call(api.run_now, name, settings=settings)
            self.reply({"name": name, "run_id": run_id}, status=202)
            return
        change = api.pause_schedule if action == "pause" else api.resume_schedule
        changed = await self.call(change, name, settings=settings)
        self.reply(changed.to_dict())


class CronPreviewHandler(MlopsHandler):
    """``GET schedules/_preview?cron=&timezone=``: the expression in words and its next ticks."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..schedules.api import preview_cron

        cron = self.get_query_argument("cron", "")
        timezone = self.get_query_argument("timezone", "") or None
        self.reply(await self.call(preview_cron, cron, timezone))


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [
        ("schedules", SchedulesHandler),
        ("schedules/_preview", CronPreviewHandler),
        (f"schedules/{NAME}", ScheduleHandler),
        (f"schedules/{NAME}/(?P<action>pause|resume|run)", ScheduleActionHandler),
    ]
