"""Kept for older test modules: the helpers live in :mod:`jupyter_mlops.testing.mlflow_server`."""

from jupyter_mlops.testing.mlflow_server import *  # noqa: F403
