"""Model registry service: register with lineage, aliases, promotion gates, serving, monitoring.

Pure Python over MLflow's registry (aliases and tags only; stages are deprecated).
The public functions live in :mod:`.api` and are re-exported as ``jupyter_mlops.*``.

``jupyter_mlops.models`` is both this package and the public ``models()`` function:
once the package is imported, Python's import system binds the name to the
package on ``jupyter_mlops``, so the package itself is made callable.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, name: str | None = None) -> Any:
        """Registered models and versions; see :func:`jupyter_mlops.models.api.models`."""
        from .api import models

        return models(name)


sys.modules[__name__].__class__ = _CallableModule
