"""Kept for older test modules: the helpers live in :mod:`jupyter_mlops.testing.processes`."""

from jupyter_mlops.testing.processes import *  # noqa: F403
