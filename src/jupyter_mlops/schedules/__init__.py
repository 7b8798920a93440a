"""Notebooks and pipelines on cron schedules, exactly once per tick.

Pure services: nothing here imports IPython, ipywidgets, tornado or jupyter_server.
Schedules live in the project's tracking store (see :mod:`.store`); the
scheduler (:mod:`.scheduler`) runs inside ``jupyter mlops scheduler`` or a Lab
server; each execution is a normal headless or pipeline run.

Also the ``mlops.schedules`` namespace: ``mlops.schedules.list()`` (the old spelling
``mlops.schedules()`` still works for one release).
"""

from __future__ import annotations

from .._public import namespace
from .api import run_now

__all__ = ["run_now"]

__getattr__, __dir__ = namespace(__name__)
