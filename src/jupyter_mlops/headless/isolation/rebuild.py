"""A run's recorded environment, rebuilt (or found in the cache) and ready to start kernels.

The environment is keyed by the lock's digest (and the local sources it installs), built
once under its lock by uv (``uv_env.py``) from the lines of ``install_plan.py``, and gets
a kernel spec of its own. Nothing of the caller's environment is changed: the kernel
starts the isolated interpreter with ``PYTHONPATH`` and the caller's virtual environment
removed from its environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import InvalidInput, NotFound
from ...tracking.writing.environment_lock import EnvironmentLock
from .env_cache import cache_root, env_lock, marker, touch, write_marker
from .install_plan import InstallPlan, Unbuildable, plan_install
from .local_wheels import cached_wheel
from .uv_env import UvEnv, UvFailure, find_uv, python_of

__all__ = ["IsolatedEnv", "env_key", "isolated_env"]

#: variables of the caller's environment that would let its packages into the kernel, and
#: PYTHONDONTWRITEBYTECODE: the environment is ours, and without cached bytecode every kernel
#: would compile each module it imports again (twice the start of a plain reproduce)
_LEAKS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONDONTWRITEBYTECODE",
)


@dataclass
class IsolatedEnv:
    """A rebuilt environment: where it is, its kernel, and how it was had."""

    key: str
    path: Path
    kernel_name: str
    kernel_dirs: tuple[str, ...]
    reused: bool
    seconds: float
    #: uv's own summary lines of the build (empty when reused)
    uv_figures: list[str] = field(default_factory=list)
    skipped: list[Unbuildable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def kernel_environment(self) -> dict[str, str]:
        """This process's environment without what leaks its packages, the env's bin first."""
        env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
        bin_dir = self.path / ("Scripts" if os.name == "nt" else "bin")
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def to_dict(self) -> dict[str, object]:
        """Plain JSON (``reproduce --isolated --json``)."""
        return {
            "key": self.key,
            "path": str(self.path),
            "reused": self.reused,
            "seconds": round(self.seconds, 3),
            "uv": self.uv_figures,
            "skipped": [{"name": u.name, "version": u.version, "why": u.why} for u in self.skipped],
            "notes": self.notes,
        }


def env_key(lock: EnvironmentLock, archives: Mapping[str, Path]) -> str:
    """The cache key: the lock's digest, plus a digest of its local sources when it has any."""
    local: list[object] = [[p.name, p.source] for p in lock.packages if p.source]
    for name in sorted(archives):
        local.append([name, hashlib.sha256(archives[name].read_bytes()).hexdigest()])
    if not local:
        return lock.digest()
    extra = hashlib.sha256(json.dumps(local, sort_keys=True, default=str).encode()).hexdigest()
    return f"{lock.digest()}-{extra[:8]}"


def isolated_env(
    lock: EnvironmentLock,
    archives: Mapping[str, Path] | None = None,
    *,
    allow_missing: bool = False,
    find_links: Sequence[str] = (),
) -> IsolatedEnv:
    """The environment of ``lock``, from the cache or built now with uv.

    Parameters
    ----------
    lock : EnvironmentLock
        The run's recorded environment.
    archives : mapping of str to Path, optional
        Source archives the run kept for its local packages, downloaded.
    allow_missing : bool
        Build without the distributions that cannot be installed (listed on the result)
        instead of refusing.
    find_links : sequence of str
        Folders of wheels or source archives uv also looks in (offline installs).

    Raises
    ------
    NotFound
        Some distributions cannot be installed (each named with why) and
        ``allow_missing`` is false; the run has no ``ipykernel`` to start a kernel with.
    """
    archives = dict(archives or {})
    links = [str(Path(d).expanduser().resolve()) for d in find_links]
    for given, folder in zip(find_links, links, strict=True):
        if not Path(folder).is_dir():
            raise InvalidInput(f"--find-links {given!r} is not a folder; give a folder of wheels")
    uv = find_uv()
    plan = plan_install(lock, archives)
    key = env_key(lock, archives)
    path = cache_root() / key
    started = time.monotonic()
    with env_lock(key):
        done = marker(path)
        if done is not None:
            skipped = [Unbuildable(**u) for u in done.get("skipped", [])]
            _refuse_unless(allow_missing, skipped, done.get("indexes", ""))
            touch(path)
            return _result(key, path, True, started, [], skipped, plan)
        shutil.rmtree(path, ignore_errors=True)  # a build that stopped half-way
        try:
            return _build(UvEnv(uv, path, links), lock, plan, key, allow_missing, started)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise


def _build(
    build: UvEnv,
    lock: EnvironmentLock,
    plan: InstallPlan,
    key: str,
    allow_missing: bool,
    started: float,
) -> IsolatedEnv:
    build.create(_python(lock))
    missing: dict[str, str] = {}
    if plan.unbuildable and not allow_missing:
        missing = build.missing(plan.lines)  # the refusal lists all at once
        _refuse_unless(False, _skipped(lock, plan, missing), build.indexes())
    _need_kernel(plan.lines)
    figures = _local_wheels(build, plan)
    try:
        figures += build.install(plan.lines)
    except UvFailure:
        # only when the whole lock does not install: dry runs find each culprit
        missing = build.missing(plan.lines)
        if not missing:
            raise
        _refuse_unless(allow_missing, _skipped(lock, plan, missing), build.indexes())
        _need_kernel(plan.without(set(missing)))
        figures += build.install(plan.without(set(missing)))
    skipped = _skipped(lock, plan, missing)
    name = kernel_name(key)
    build.add_kernel(name, f"Python {lock.python} (run environment {key[:12]})")
    write_marker(
        build.path,
        {
            "python": lock.python,
            "digest": lock.digest(),
            "installed": len(plan.without(set(missing))),
            "skipped": [{"name": u.name, "version": u.version, "why": u.why} for u in skipped],
            "indexes": build.indexes(),
            "uv": figures,
        },
    )
    return _result(key, build.path, False, started, figures, skipped, plan)


def _skipped(
    lock: EnvironmentLock, plan: InstallPlan, missing: dict[str, str]
) -> list[Unbuildable]:
    versions = lock.versions
    return plan.unbuildable + [
        Unbuildable(name, versions.get(name, "?"), f"uv: {why}") for name, why in missing.items()
    ]


def _need_kernel(lines: dict[str, str]) -> None:
    if "ipykernel" not in lines:
        raise NotFound(
            "the run's environment has no ipykernel that installs, so no kernel can start in it "
            "(it ran in a kernel of another environment than the one recorded)"
        )


def _local_wheels(build: UvEnv, plan: InstallPlan) -> list[str]:
    """Point the lines of clean local checkouts at their cached wheels; how each was had."""
    figures = []
    for name, source in plan.local.items():
        wheel, figure = cached_wheel(build, source)
        if wheel is not None:  # else uv builds the folder, and says why if it cannot
            plan.lines[name] = f"{name} @ {wheel.as_uri()}"
        figures.append(figure)
    return figures


def kernel_name(key: str) -> str:
    """The kernel spec name of environment ``key``."""
    return f"mlops-env-{key}"


def _result(
    key: str,
    path: Path,
    reused: bool,
    started: float,
    figures: list[str],
    skipped: list[Unbuildable],
    plan: InstallPlan,
) -> IsolatedEnv:
    kernels = str(path / "share" / "jupyter" / "kernels")
    return IsolatedEnv(
        key,
        path,
        kernel_name(key),
        (kernels,),
        reused,
        time.monotonic() - started,
        figures,
        skipped,
        plan.notes,
    )


def _refuse_unless(allow: bool, skipped: list[Unbuildable], indexes: str) -> None:
    if skipped and not allow:
        listed = "; ".join(str(u) for u in skipped)
        raise NotFound(
            f"cannot rebuild the run's environment: {len(skipped)} distribution(s) cannot be "
            f"installed: {listed}; looked in {indexes or 'the configured indexes'}; "
            "pass --allow-missing to reproduce without them, or --find-links DIR with their wheels"
        )


def _python(lock: EnvironmentLock) -> str:
    """The interpreter to base the environment on: the recorded one when it still runs."""
    recorded = lock.executable
    if recorded and Path(recorded).exists() and python_of(recorded) == lock.python:
        return recorded
    if platform.python_version() == lock.python:
        return sys.executable
    return lock.python  # uv finds that version (or fetches it, as its settings allow)
