"""What to ask uv for to install a recorded lock exactly, and what cannot be installed.

Each distribution becomes one requirement line: an exact pin for one from an index, the
VCS URL at its commit, the source archive the run kept (a local package that had
uncommitted changes when it ran), or the local folder it came from (through a wheel built
once per commit, ``local_wheels.py``, when the checkout has nothing uncommitted). A folder
that is gone, or that had uncommitted changes the run kept no archive of, cannot be
rebuilt; a folder whose checkout moved on since is installed as it is now, and said so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...tracking.writing.environment_lock import EnvironmentLock, LockedPackage, normalize
from ...tracking.writing.run_context import git_info
from .local_wheels import LocalSource

__all__ = ["InstallPlan", "Unbuildable", "plan_install"]


@dataclass(frozen=True)
class Unbuildable:
    """A recorded distribution that cannot be installed, and why."""

    name: str
    version: str
    why: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version} ({self.why})"


@dataclass
class InstallPlan:
    """Requirement lines by distribution, what cannot be installed, and what is not exact."""

    lines: dict[str, str] = field(default_factory=dict)
    unbuildable: list[Unbuildable] = field(default_factory=list)
    #: installed, but not as recorded (a local checkout that moved on since the run)
    notes: list[str] = field(default_factory=list)
    #: local checkouts with nothing uncommitted now: installed from a wheel built once per commit
    local: dict[str, LocalSource] = field(default_factory=dict)

    def without(self, names: set[str]) -> dict[str, str]:
        """The lines of every distribution but ``names``."""
        return {k: v for k, v in self.lines.items() if k not in names}


def plan_install(lock: EnvironmentLock, archives: Mapping[str, Path]) -> InstallPlan:
    """The requirement lines installing ``lock``; ``archives`` are the run's source archives.

    Parameters
    ----------
    lock : EnvironmentLock
        The recorded environment.
    archives : mapping of str to Path
        Distribution name -> the source archive the run kept for it, downloaded here.
    """
    plan = InstallPlan()
    for package in lock.packages:
        archive = archives.get(normalize(package.name))
        if archive is not None:
            plan.lines[package.name] = f"{package.name} @ {archive.resolve().as_uri()}"
            continue
        kind = package.source.get("kind")
        if kind == "directory":
            _directory(plan, package)
        elif kind == "archive" and str(package.source["url"]).startswith("file:"):
            path = Path(package.source["url"].removeprefix("file://"))
            if path.exists():
                plan.lines[package.name] = package.requirement()
            else:
                plan.unbuildable.append(Unbuildable(package.name, package.version, _gone(path)))
        else:
            plan.lines[package.name] = package.requirement()
    return plan


def _gone(path: Path) -> str:
    return f"it was installed from {path}, which is gone"


def _directory(plan: InstallPlan, package: LockedPackage) -> None:
    source = package.source
    path = Path(source["path"])
    if not path.is_dir():
        plan.unbuildable.append(Unbuildable(package.name, package.version, _gone(path)))
        return
    if source.get("dirty"):
        plan.unbuildable.append(
            Unbuildable(
                package.name,
                package.version,
                f"{path} had uncommitted changes when the run ran and the run kept no archive "
                "of its source",
            )
        )
        return
    plan.lines[package.name] = package.requirement()
    if source.get("commit"):
        now = git_info(path)
        if now.get("commit") and now.get("dirty") == "False":
            plan.local[package.name] = LocalSource(
                package.name, package.version, path.resolve(), now["commit"]
            )
        moved = now.get("commit") != source["commit"] or now.get("dirty") == "True"
        if moved:
            state = f"now at {now.get('commit', '?')[:12]}" + (
                " with uncommitted changes" if now.get("dirty") == "True" else ""
            )
            plan.notes.append(
                f"{package.name}: installed from {path} as it is now "
                f"(the run used commit {source['commit'][:12]}; {state})"
            )
