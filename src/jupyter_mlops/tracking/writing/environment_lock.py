"""The environment a run ran in, as a PEP 751 lock: ``environment/pylock.toml`` on the run.

Every installed distribution is listed with its version and, where the installer
recorded one (PEP 610 ``direct_url.json``), its source: a VCS URL and commit, a local
directory (editable or not, with the git commit and dirty state of that checkout) or
an archive URL. Distributions installed from an index carry no source: the index they
came from is not recorded by installers.

Scanning the distributions costs tens of milliseconds, so the lock is cached per
interpreter in memory and in the user cache, keyed by the interpreter and the
modification times of the ``sys.path`` entries (an install or removal changes its
``site-packages`` folder's mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ...atomic_files import write_atomic
from .source_archive import SOURCES_DIR, fresh_sources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "LOCK_ARTIFACT",
    "LOCK_DIGEST_TAG",
    "SOURCES_DIR",
    "EnvironmentLock",
    "LockedPackage",
    "current_lock",
    "interpreter_lock",
    "parse_lock",
    "run_lock",
]

#: where a run keeps its lock
LOCK_ARTIFACT = "environment/pylock.toml"
#: tag holding the lock's digest, so two runs' environments compare without a download
LOCK_DIGEST_TAG = "mlops.environment.digest"
#: what an installer leaves in the folder it installs to
_INSTALLED_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
#: bumped when the cached form changes
_CACHE_FORMAT = 1
_TOOL = "jupyter-mlops"


def normalize(name: str) -> str:
    """A distribution name in its PEP 503 normal form (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class LockedPackage:
    """One installed distribution: name, version and where it came from when known.

    ``source`` is empty (an index), or has ``kind`` ``vcs`` (``url``, ``commit``),
    ``directory`` (``path``, ``editable``, and ``commit``/``dirty`` for a git checkout)
    or ``archive`` (``url``).
    """

    name: str
    version: str
    source: dict[str, Any] = field(default_factory=dict)

    def requirement(self) -> str:
        """The line installing exactly this distribution (``pip``/``uv`` syntax)."""
        kind = self.source.get("kind")
        if kind == "vcs":
            return f"{self.name} @ git+{self.source['url']}@{self.source.get('commit', '')}"
        if kind == "directory":
            prefix = "-e " if self.source.get("editable") else ""
            return f"{prefix}{Path(self.source['path']).as_uri()}"
        if kind == "archive":
            return f"{self.name} @ {self.source['url']}"
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class EnvironmentLock:
    """The interpreter and every distribution installed for it."""

    python: str
    implementation: str
    platform: str
    executable: str
    packages: tuple[LockedPackage, ...]

    @property
    def versions(self) -> dict[str, str]:
        """Distribution name -> version."""
        return {p.name: p.version for p in self.packages}

    def digest(self) -> str:
        """A digest of the interpreter version and the distributions (not of the paths)."""
        doc = [self.implementation, self.python, [(p.name, p.version) for p in self.packages]]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]

    def requirements(self) -> str:
        """The distributions as a requirements file, one exact pin per line."""
        head = f"# Python {self.python} ({self.implementation}) on {self.platform}\n"
        return head + "".join(p.requirement() + "\n" for p in self.packages)

    def to_toml(self) -> str:
        """The lock in PEP 751 layout (``pylock.toml``)."""
        lines = [
            'lock-version = "1.0"',
            f"created-by = {_s(_TOOL)}",
            f"requires-python = {_s('==' + self.python)}",
            "",
        ]
        for package in self.packages:
            lines += [
                "[[packages]]",
                f"name = {_s(package.name)}",
                f"version = {_s(package.version)}",
            ]
            lines += _source_toml(package.source)
            lines.append("")
        lines += [
            f"[tool.{_TOOL}]",
            f"python = {_s(self.python)}",
            f"implementation = {_s(self.implementation)}",
            f"platform = {_s(self.platform)}",
            f"executable = {_s(self.executable)}",
            f"digest = {_s(self.digest())}",
            "",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "python": self.python,
            "implementation": self.implementation,
            "platform": self.platform,
            "executable": self.executable,
            "digest": self.digest(),
            "packages": [
                {"name": p.name, "version": p.version, **({"source": p.source} if p.source else {})}
                for p in self.packages
            ],
        }


def _s(text: str) -> str:
    # a JSON string is a TOML basic string (same escapes, \uXXXX included)
    return json.dumps(text)


def _source_toml(source: dict[str, Any]) -> list[str]:
    kind = source.get("kind")
    if kind == "vcs":
        out = ["[packages.vcs]", 'type = "git"', f"url = {_s(source['url'])}"]
        if source.get("commit"):
            out.append(f"commit-id = {_s(source['commit'])}")
        return out
    if kind == "directory":
        out = ["[packages.directory]", f"path = {_s(source['path'])}"]
        out.append(f"editable = {'true' if source.get('editable') else 'false'}")
        extra = []
        if source.get("commit"):
            extra += [
                f"git-commit = {_s(source['commit'])}",
                f"git-dirty = {'true' if source.get('dirty') else 'false'}",
            ]
        if source.get("archive"):  # the source as it ran, kept on the run
            extra += [
                f"source-archive = {_s(source['archive'])}",
                f"source-archive-sha256 = {_s(source['archive_sha256'])}",
            ]
        return out + ([f"[packages.tool.{_TOOL}]", *extra] if extra else [])
    if kind == "archive":
        return ["[packages.archive]", f"url = {_s(source['url'])}"]
    return []


def parse_lock(text: str) -> EnvironmentLock:
    """Read a lock written by :meth:`EnvironmentLock.to_toml`."""
    doc = tomllib.loads(text)
    tool = doc.get("tool", {}).get(_TOOL, {})
    packages = []
    for entry in doc.get("packages", []):
        source: dict[str, Any] = {}
        if "vcs" in entry:
            source = {"kind": "vcs", "url": entry["vcs"]["url"]}
            if "commit-id" in entry["vcs"]:
                source["commit"] = entry["vcs"]["commit-id"]
        elif "directory" in entry:
            d = entry["directory"]
            source = {"kind": "directory", "path": d["path"], "editable": d.get("editable", False)}
            extra = entry.get("tool", {}).get(_TOOL, {})
            if "git-commit" in extra:
                source.update(commit=extra["git-commit"], dirty=extra.get("git-dirty", False))
            if "source-archive" in extra:
                source.update(
                    archive=extra["source-archive"],
                    archive_sha256=extra.get("source-archive-sha256", ""),
                )
        elif "archive" in entry:
            source = {"kind": "archive", "url": entry["archive"]["url"]}
        packages.append(LockedPackage(entry["name"], entry["version"], source))
    return EnvironmentLock(
        python=tool.get("python", str(doc.get("requires-python", "")).lstrip("=")),
        implementation=tool.get("implementation", ""),
        platform=tool.get("platform", ""),
        executable=tool.get("executable", ""),
        packages=tuple(packages),
    )


# -- reading this interpreter --------------------------------------------------------------
_memo: dict[str, EnvironmentLock] = {}
_memo_lock = threading.Lock()


def current_lock() -> EnvironmentLock:
    """The lock of this interpreter's environment (cached until an install changes it)."""
    key = _environment_key()
    with _memo_lock:
        found = _memo.get(key)
        if found is None:
            found = _from_cache(key)
            if found is None:
                found = _scan()
                _to_cache(key, found)
            _memo.clear()
            _memo[key] = found
    return found


def _environment_key() -> str:
    parts: list[Any] = [_CACHE_FORMAT, sys.executable, sys.version]
    for entry in _install_folders(sys.path):
        try:
            parts.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            parts.append((entry, None))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _install_folders(entries: list[str]) -> list[str]:
    """The entries of the import path that hold installed distributions, and site folders.

    Installing or removing a distribution changes the modification time of the folder it
    goes to. A folder holding none (the working folder of a notebook, a script's folder)
    changes with every file saved there: keyed on it, the lock was read again for every
    run of a kernel whose notebook had been saved since the last.
    """
    import site

    sites = {*site.getsitepackages(), site.getusersitepackages()}
    return [e for e in entries if e in sites or _holds_distributions(e)]


def _holds_distributions(entry: str) -> bool:
    if not entry or not os.path.isdir(entry):
        return bool(entry) and os.path.isfile(entry)  # a zip or egg on the path
    try:
        with os.scandir(entry) as found:
            return any(f.name.endswith(_INSTALLED_SUFFIXES) for f in found)
    except OSError:
        return False


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jupyter-mlops" / "environment-locks"


def _cache_file(key: str) -> Path:
    return _cache_dir() / f"{key}.toml"


def _from_cache(key: str) -> EnvironmentLock | None:
    try:
        return parse_lock(_cache_file(key).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None


def _to_cache(key: str, lock: EnvironmentLock) -> None:
    # a cache we cannot write only costs the next run a scan
    with contextlib.suppress(OSError):
        write_atomic(_cache_file(key), lock.to_toml())


def run_lock(
    executable: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[EnvironmentLock | None, dict[str, Path]]:
    """The lock to record on a run, and the source archives to log beside it.

    ``executable`` is the kernel's interpreter (default this one). Local folders get
    their git state read now, and an archive of their source when it has uncommitted
    changes (``source_archive.py``). Returns ``(None, {})`` when the interpreter cannot
    be asked.
    """
    lock = interpreter_lock(executable, env) if executable else current_lock()
    if lock is None:
        return None, {}
    if not any(p.source.get("kind") == "directory" for p in lock.packages):
        return lock, {}
    sources, files = fresh_sources(
        [(p.name, p.version, p.source) for p in lock.packages], _cache_dir()
    )
    packages = tuple(replace(p, source=s) for p, s in zip(lock.packages, sources, strict=True))
    return replace(lock, packages=packages), files


# -- another interpreter (a kernel's, from another environment) -----------------------------
#: how long reading another interpreter's distributions may take
SCAN_TIMEOUT_S = 60.0


def interpreter_lock(
    executable: str, env: Mapping[str, str] | None = None
) -> EnvironmentLock | None:
    """The lock of the environment of ``executable`` (a kernel's interpreter), cached.

    The interpreter is asked once (a subprocess running ``distribution_scan.py``); its
    ``sys.path`` is kept, and later calls reuse the lock while the mtimes of those
    entries are unchanged. ``env`` is the environment the kernel starts with (its
    ``PYTHONPATH`` changes what it sees). Returns ``None`` when the interpreter cannot
    be asked (not a Python, or it failed).
    """
    environ = dict(os.environ if env is None else env)
    if _same_interpreter(executable, environ):
        return current_lock()
    who = json.dumps([_CACHE_FORMAT, executable, environ.get("PYTHONPATH", "")])
    paths_file = (
        _cache_dir() / "interpreters" / f"{hashlib.sha256(who.encode()).hexdigest()[:32]}.json"
    )
    try:
        known = json.loads(paths_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = None
    if isinstance(known, list):
        found = _from_cache(_interpreter_key(executable, known))
        if found is not None:
            return found
    scanned = _ask(executable, environ)
    if scanned is None:
        return None
    lock = _lock_from_scan(scanned)
    _to_cache(_interpreter_key(executable, scanned["sys_path"]), lock)
    with contextlib.suppress(OSError):
        write_atomic(paths_file, json.dumps(scanned["sys_path"]))
    return lock


def _same_interpreter(executable: str, env: Mapping[str, str]) -> bool:
    # jupyter_client starts a kernel spec's bare "python" with its own interpreter
    if executable in ("python", "python3", f"python3.{sys.version_info[1]}"):
        return True
    found = executable if os.sep in executable else shutil.which(executable, path=env.get("PATH"))
    return bool(found) and os.path.abspath(str(found)) == os.path.abspath(sys.executable)


def _interpreter_key(executable: str, sys_path: list[str]) -> str:
    parts: list[Any] = [_CACHE_FORMAT, "interpreter", executable]
    for entry in [executable, *sys_path]:
        try:
            parts.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            parts.append((entry, None))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _ask(executable: str, env: dict[str, str]) -> dict[str, Any] | None:
    script = Path(__file__).with_name("distribution_scan.py")
    try:
        out = subprocess.run(
            [executable, str(script)],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(script.parent),
            timeout=SCAN_TIMEOUT_S,
            check=True,
        )
        found = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return found if isinstance(found, dict) and "distributions" in found else None


def _scan() -> EnvironmentLock:
    from .distribution_scan import scan

    return _lock_from_scan(scan())


def _lock_from_scan(found: dict[str, Any]) -> EnvironmentLock:
    packages: dict[str, LockedPackage] = {}
    for name, version, direct in found["distributions"]:
        key = normalize(name)
        if key not in packages:  # the first on sys.path is the one imports see
            packages[key] = LockedPackage(key, version, _source(direct))
    return EnvironmentLock(
        python=found["python"],
        implementation=found["implementation"],
        platform=found["platform"],
        executable=found["executable"],
        packages=tuple(packages[k] for k in sorted(packages)),
    )


def _source(text: str | None) -> dict[str, Any]:
    try:
        direct = json.loads(text) if text else None
    except ValueError:
        direct = None
    if not isinstance(direct, dict) or "url" not in direct:
        return {}
    url = str(direct["url"])
    if "vcs_info" in direct:
        return {"kind": "vcs", "url": url, "commit": direct["vcs_info"].get("commit_id", "")}
    if "dir_info" in direct or (url.startswith("file:") and Path(_path(url)).is_dir()):
        path = _path(url)
        source: dict[str, Any] = {
            "kind": "directory",
            "path": path,
            "editable": bool(direct.get("dir_info", {}).get("editable")),
        }
        from .git_state import git_info

        git = git_info(Path(path)) if Path(path).is_dir() else {}
        if git:
            source.update(commit=git["commit"], dirty=git["dirty"] == "True")
        return source
    return {"kind": "archive", "url": url}


def _path(url: str) -> str:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url
