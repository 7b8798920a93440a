"""Kept for older test modules: the helpers live in :mod:`jupyter_mlops.testing.team`."""

from jupyter_mlops.testing.team import *  # noqa: F403
