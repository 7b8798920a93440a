"""The MLflow internals ``tracking/mlflow_bridge/fluent.py`` relies on have the expected shape.

An MLflow upgrade that changes them fails here first (the link then falls back to
sharing the store only, with one warning).
"""

from __future__ import annotations

import pytest

from jupyter_mlops.tracking.mlflow_bridge import fluent as mlflow_link

#: at the boundary with MLflow or pandas: run again in each environment of make test-compat
pytestmark = pytest.mark.compat


def test_mlflow_run_stack_has_the_shape_the_link_relies_on() -> None:
    from mlflow.tracking import fluent

    assert mlflow_link.supported()
    assert isinstance(fluent._active_run_stack.get(), list)


def test_autolog_logs_params_through_the_wrapped_client_method() -> None:
    from mlflow.utils.autologging_utils.client import MlflowAutologgingQueueingClient

    assert callable(MlflowAutologgingQueueingClient.log_params)
