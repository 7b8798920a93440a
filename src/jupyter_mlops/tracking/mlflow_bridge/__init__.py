"""The link to MLflow: opening its store, translating its errors, sharing its fluent runs.

Public module: :mod:`.store` (``open_client``, ``lazy_client``, ``mlflow_errors``).
:mod:`.fluent` hooks MLflow's fluent API and lists the MLflow internals it relies on;
:mod:`.shared_runs` is the tracker's side of that link.
"""
