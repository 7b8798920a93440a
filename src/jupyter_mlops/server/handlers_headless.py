"""Notebook parameters and headless runs (start, progress, cancel)."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..errors import InvalidInput
from .base import MlopsHandler
from .handlers_runs import RUN_ID
from .jobs import notebook_inside

__all__ = ["routes"]

JOB_ID = r"(?P<job_id>[0-9a-f]{1,32})"


class ParametersHandler(MlopsHandler):
    """``GET notebooks/parameters?path=``: what the notebook's ``parameters`` cell declares."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from ..headless.api import notebook_params

        rel = self.get_query_argument("path", "")
        root = self.state.root_dir
        found = await self.call(lambda: notebook_params(notebook_inside(root, rel)))
        self.reply({"path": rel, "parameters": [p.to_dict() for p in found]})


class HeadlessListHandler(MlopsHandler):
    """``GET headless``: runs started here; ``POST headless``: start one."""

    @tornado.web.authenticated
    def get(self) -> None:
        jobs = self.state.jobs
        self.reply({"runs": [jobs.describe(i) for i in jobs.ids()]})

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        params = body.get("params", {})
        if not isinstance(params, dict):
            raise InvalidInput('params must be an object, e.g. {"lr": 0.05}')
        experiment = body.get("experiment")
        if experiment is not None and not isinstance(experiment, str):
            raise InvalidInput('experiment must be a name, e.g. "churn"')
        jobs = self.state.jobs
        job = await self.call(lambda: jobs.start(str(body.get("path", "")), params, experiment))
        self.reply(job, status=201)


class HeadlessJobHandler(MlopsHandler):
    """``GET headless/{id}``: progress; ``DELETE headless/{id}``: cancel."""

    @tornado.web.authenticated
    def get(self, job_id: str) -> None:
        self.reply(self.state.jobs.describe(job_id))

    @tornado.web.authenticated
    def delete(self, job_id: str) -> None:
        self.reply(self.state.jobs.cancel(job_id), status=202)


class ReproduceHandler(MlopsHandler):
    """``POST runs/{run_id}/reproduce``: re-execute a past run in the background.

    Body: ``rtol``, ``atol`` (numbers), ``isolated`` (rebuild the run's recorded
    environment with uv and execute there) and ``allow_missing`` (with ``isolated``: go on
    without what cannot be installed), all optional.
    """

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        from ..headless.reproduce import DEFAULT_ATOL, DEFAULT_RTOL
        from ..pipelines.runs import ROLE_TAG
        from ..tracking.reading.browse import get_run

        body = self.json_body()
        rtol = _tolerance(body, "rtol", DEFAULT_RTOL)
        atol = _tolerance(body, "atol", DEFAULT_ATOL)
        isolated, allow_missing = _flag(body, "isolated"), _flag(body, "allow_missing")
        if allow_missing and not isolated:
            raise InvalidInput('allow_missing goes with isolated: {"isolated": true, ...}')
        state = self.state

        def start() -> dict[str, Any]:
            run = get_run(state.client, run_id)  # unknown ids fail now, not in the job
            if run.data.tags.get(ROLE_TAG) == "parent":
                raise InvalidInput(
                    f"run {run_id} is a pipeline run: reproduce one of its unit runs here, or "
                    f"every unit with `jupyter mlops reproduce {run_id}` (--isolated)"
                )
            name = run.info.run_name or ""
            return state.jobs.reproduce(
                run_id, rtol, atol, state.settings, name, isolated, allow_missing
            )

        self.reply(await self.call(start), status=201)


def _tolerance(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f'{key} must be a number >= 0, e.g. {{"{key}": 1e-6}}')
    return float(value)


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f'{key} must be true or false, e.g. {{"{key}": true}}')
    return value


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [
        ("notebooks/parameters", ParametersHandler),
        ("headless", HeadlessListHandler),
        (f"headless/{JOB_ID}", HeadlessJobHandler),
        (f"runs/{RUN_ID}/reproduce", ReproduceHandler),
    ]
