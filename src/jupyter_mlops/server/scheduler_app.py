"""The scheduler inside a Jupyter server, when enabled (off by default).

Enable it in ``jupyter_server_config.py`` with ``c.MlopsSchedulerApp.enabled = True`` (or
``jupyter lab --MlopsSchedulerApp.enabled=True``). It is off by default because on a
multi-user server every user's server would run the project's schedules; any number of
schedulers may share a store all the same, each tick runs once.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from traitlets import Bool, Float
from traitlets.config import Configurable

__all__ = ["MlopsSchedulerApp", "start_scheduler"]


class MlopsSchedulerApp(Configurable):
    """Settings of the scheduler run by the ``jupyter_mlops`` server extension."""

    enabled = Bool(
        False,
        config=True,
        help="Run the schedules of the server root's project in this server (off by default).",
    )
    poll_seconds = Float(
        10.0,
        config=True,
        help="Seconds between looks for new, paused or removed schedules.",
    )


def start_scheduler(server_app: Any, settings: Any) -> Any:
    """Start a scheduler thread for ``settings`` when enabled; return it (or ``None``)."""
    config = MlopsSchedulerApp(config=server_app.config)
    if not config.enabled:
        return None
    from ..schedules.scheduler import Scheduler

    scheduler = Scheduler(settings, poll_s=config.poll_seconds)
    thread = threading.Thread(target=scheduler.run_forever, name="mlops-scheduler", daemon=True)
    thread.start()
    atexit.register(scheduler.stop, cancel=True, timeout=10.0)
    server_app.log.info("jupyter_mlops: scheduler %s running in this server", scheduler.id)
    return scheduler
