"""The link to MLflow: opening its store, translating its errors, hooking its fluent API.

Public module: :mod:`.store` (``open_client``, ``lazy_client``, ``mlflow_errors``).
:mod:`.fluent` hooks MLflow's fluent run stack and lists the MLflow internals it relies on;
the tracker's side of that link is :mod:`jupyter_mlops.tracking.writing.shared_runs`.
MLflow's run-context provider (``run_context_provider.py``) reads the run context of
:mod:`jupyter_mlops.tracking.writing.run_context`.
"""
