"""Kept for older test modules: the helpers live in :mod:`jupyter_mlops.testing.notebooks`."""

from jupyter_mlops.testing.notebooks import *  # noqa: F403
