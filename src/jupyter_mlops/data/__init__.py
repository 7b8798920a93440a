"""Data snapshots: content-addressed, deduplicated versions of tables with diff and drift.

Also the ``mlops.data`` namespace: ``mlops.data.load``, ``diff``, ``drift``, ``snapshots``,
``validate``, ``infer_schema``, ``save_schema`` (listed in :mod:`jupyter_mlops._public`),
resolved on first use.
"""

from .._public import namespace

__getattr__, __dir__ = namespace(__name__)
