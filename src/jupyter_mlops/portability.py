"""Which platform branch to take: POSIX (Unix sockets, ``/proc``) or the portable one.

Every branch for platforms without Unix sockets or ``/proc`` (Windows) asks :func:`posix`,
so the test suite can take those branches on this machine: ``MLOPS_TEST_NON_POSIX=1``
makes :func:`posix` answer ``False`` (``tests/unit/test_portability.py``).
"""

from __future__ import annotations

import os

__all__ = ["TEST_NON_POSIX_ENV", "posix"]

#: set to ``1`` to take the non-POSIX branches on a POSIX machine (tests)
TEST_NON_POSIX_ENV = "MLOPS_TEST_NON_POSIX"


def posix() -> bool:
    """Whether to use the POSIX-only mechanisms (Unix sockets, ``/proc``, the warm worker)."""
    return os.name == "posix" and os.environ.get(TEST_NON_POSIX_ENV) != "1"
