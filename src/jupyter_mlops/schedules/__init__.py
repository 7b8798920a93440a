"""Notebooks and pipelines on cron schedules, exactly once per tick.

Pure services: nothing here imports IPython, ipywidgets, tornado or jupyter_server.
Schedules live in the project's tracking store (see :mod:`.store`); the
scheduler (:mod:`.scheduler`) runs inside ``jupyter mlops scheduler`` or a Lab
server; each execution is a normal headless or pipeline run.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import run_now

__all__ = ["run_now"]


class _CallablePackage(types.ModuleType):
    """Once imported, this package is the attribute ``jupyter_mlops.schedules``, which is
    also the public function ``mlops.schedules()``: calling the package calls it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .handle import schedules

        return schedules(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
