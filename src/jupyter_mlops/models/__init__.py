"""Model registry service: register with lineage, aliases, promotion gates, serving, monitoring.

Pure Python over MLflow's registry (aliases and tags only; stages are deprecated).
Also the ``mlops.models`` namespace: ``mlops.models.list``, ``history``, ``monitor``,
``monitoring``, ``performance``, ``gate``, ``card``, ``evaluate`` (listed in
:mod:`jupyter_mlops._public`), resolved on first use. ``mlops.models()`` is the old spelling
of ``mlops.models.list()``.
"""

from .._public import namespace

__getattr__, __dir__ = namespace(__name__)
