"""The git state of a folder: commit, branch and whether its work tree has changes.

Read for a run's context tags, for local distributions in an environment lock and for
their source archives; its own module so that each of those can ask it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git_info"]


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(root: Path) -> dict[str, str]:
    """Return commit, branch and dirty flag of the git checkout at ``root`` (empty if none)."""
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return {}
    info = {"commit": commit, "dirty": str(bool(_git(root, "status", "--porcelain")))}
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        info["branch"] = branch
    return info
