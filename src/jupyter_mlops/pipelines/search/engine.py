"""Optuna, imported on first use, or one line saying how to install it.

Every part of the search reaches Optuna through :func:`import_optuna`, so a
missing extra is reported the same way wherever it is first needed.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInput

__all__ = ["import_optuna"]


def import_optuna() -> Any:
    """The ``optuna`` module, quiet below warnings."""
    try:
        import optuna
    except ImportError:
        raise InvalidInput(
            "searched sweeps (random, tpe, cmaes, qmc) need Optuna: "
            "pip install 'jupyter-mlops[search]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
