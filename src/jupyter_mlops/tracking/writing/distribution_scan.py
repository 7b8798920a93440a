"""The distributions one interpreter sees, read with the standard library alone.

This file is also run as a script by another interpreter (a kernel's, in another
environment): ``python distribution_scan.py`` prints the scan as JSON. So it imports
nothing but the standard library, and nothing of this package.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["scan"]


def scan() -> dict[str, Any]:
    """This interpreter, its ``sys.path`` and every distribution on it (first one wins).

    Each distribution is ``[name, version, direct_url]`` where ``direct_url`` is the
    text of its PEP 610 ``direct_url.json`` or ``None``.
    """
    dists: list[list[Any]] = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        try:
            direct = dist.read_text("direct_url.json")
        except OSError:
            direct = None
        dists.append([name, dist.version, direct])
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "sys_path": list(sys.path),
        "distributions": dists,
    }


if __name__ == "__main__":
    # run as a script, the script's own folder heads sys.path: it holds no distributions
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    json.dump(scan(), sys.stdout)
