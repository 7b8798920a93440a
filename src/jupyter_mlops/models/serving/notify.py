"""What an alert does: a monitoring run, a webhook POST, optionally a schedule run now.

Each action is independent: a webhook that is down does not stop the
monitoring run from being recorded, and the other way round. Failures are one
line on stderr; the server keeps serving.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .alerts import Alert
from .loaded import Loaded

__all__ = ["AlertContext", "fire", "run_schedule"]

_WEBHOOK_TIMEOUT_S = 10


@dataclass(frozen=True)
class AlertContext:
    """Where alerts go: the served reference, the webhook, the schedule to run."""

    ref: str
    alias: str
    webhook: str | None
    schedule: str | None
    base_url: str


def fire(
    ctx: AlertContext,
    loaded: Loaded,
    alert: Alert,
    value: float,
    window: tuple[Any, Any, Any],
    figures: Mapping[str, float],
) -> dict[str, Any]:
    """Carry out one alert; return the webhook payload (with ``run_id`` and ``execution``)."""
    version = loaded.version
    payload: dict[str, Any] = {
        "model": version.name,
        "alias": ctx.alias,
        "version": str(version.version),
        "expression": alert.text,
        "value": value,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "link": f"{ctx.base_url}/metrics",
        "run_id": None,
        "execution": None,
    }
    _print(f"alert: {alert.text} (value {value:g}) on {version.name} version {version.version}")
    payload["run_id"] = _attempt(
        "log the monitoring run", _log_run, ctx, loaded, alert, value, window, figures
    )
    if payload["run_id"]:
        payload["link"] = _run_link(payload["run_id"])
    if ctx.schedule:
        payload["execution"] = _attempt(
            f"run schedule {ctx.schedule!r}", run_schedule, ctx.schedule
        )
    if ctx.webhook:
        _attempt(f"POST the alert to {ctx.webhook}", post_json, ctx.webhook, payload)
    return payload


def _log_run(
    ctx: AlertContext, loaded: Loaded, alert: Alert, value: float,
    window: tuple[Any, Any, Any], figures: Mapping[str, float],
) -> str:  # fmt: skip
    from ..monitoring_runs import log_monitoring

    _rows, predictions, report = window
    extra = {f"window.{k}": float(v) for k, v in figures.items()}
    run_id, _stats = log_monitoring(
        loaded.version, ctx.ref, predictions, report, loaded.reference_name,
        alert={"expression": alert.text, "value": value}, extra=extra,
    )  # fmt: skip
    return run_id


def _run_link(run_id: str) -> str:
    """The run's page in MLflow's UI when the store is a server, else a ``runs:/`` URI."""
    from ...tracking.api import tracker

    uri = tracker().settings.tracking_uri
    if uri.startswith(("http://", "https://")):
        run = tracker().client.get_run(run_id)
        return f"{uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
    return f"runs:/{run_id}"


def run_schedule(name: str) -> str:
    """Start the named schedule now (the retrain loop); return its execution's run id."""
    from ...schedules import run_now

    return run_now(name)


def post_json(url: str, payload: Mapping[str, Any]) -> int:
    """POST ``payload`` as JSON; return the HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "jupyter-mlops-serve"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT_S) as response:
        return int(response.status)


def _attempt(what: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception as exc:
        _print(f"alert: could not {what}: {type(exc).__name__}: {exc}")
        return None


def _print(line: str) -> None:
    print(f"jupyter mlops serve: {line}", file=sys.stderr, flush=True)
