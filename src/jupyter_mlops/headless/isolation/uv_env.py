"""Building one virtual environment with uv: the interpreter, the distributions, a kernel.

uv (the ``uv`` PyPI package) does the work; its own settings (``uv.toml``, ``UV_*``
variables: index, offline mode, cache) apply as they do on the command line, and
``--find-links`` folders are passed on. Every distribution is installed without its
dependencies (``--no-deps``): the lock already lists the whole environment, at exact
versions, so nothing is resolved again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import InvalidInput, MlopsError

__all__ = ["UvEnv", "UvFailure", "find_uv", "python_of"]

#: uv's summary lines, printed beside our own figures
_FIGURES = re.compile(r"^(Resolved|Prepared|Installed|Uninstalled|Audited|Built|Bytecode) ", re.M)
#: the distribution a failed resolution or build names
_NAMED = (
    re.compile(r"Because (?:there is no version of )?([A-Za-z0-9][A-Za-z0-9._-]*)"),
    re.compile(r"`([A-Za-z0-9][A-Za-z0-9._-]*)(?:==| @)"),
    re.compile(r"Failed to (?:build|download|fetch|prepare)[^`]*`([A-Za-z0-9][A-Za-z0-9._-]*)"),
)


class UvFailure(MlopsError):
    """uv failed for a reason that names no distribution (no interpreter, no network)."""


def find_uv() -> str:
    """The uv binary of the ``uv`` package; a clear error when it is not installed."""
    try:
        import uv
    except ImportError:
        raise InvalidInput(
            "reproducing in an isolated environment needs uv: "
            "pip install 'jupyter-mlops[reproduce]'"
        ) from None
    return str(uv.find_uv_bin())


def python_of(executable: str) -> str | None:
    """The version of the interpreter ``executable`` (``None`` if it cannot be run)."""
    try:
        out = subprocess.run(
            [executable, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class UvEnv:
    """One environment being built at ``path`` by uv."""

    uv: str
    path: Path
    find_links: Sequence[str] = ()

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def create(self, python: str) -> None:
        """Make the virtual environment with interpreter ``python`` (a path or a version)."""
        self._uv(["venv", "--quiet", "--python", python, str(self.path)], f"create {self.path}")

    def missing(self, lines: Mapping[str, str]) -> dict[str, str]:
        """Distributions uv cannot install (name -> uv's reason), found by dry runs."""
        left = dict(lines)
        found: dict[str, str] = {}
        while left:
            done = self._install(left.values(), dry_run=True)
            if done.returncode == 0:
                break
            name, why = self._culprit(done.stderr, left)
            found[name] = why
            del left[name]
        return found

    def install(self, lines: Mapping[str, str]) -> list[str]:
        """Install ``lines``; return uv's own summary lines (its figures)."""
        if not lines:
            return []
        done = self._install(lines.values(), dry_run=False)
        if done.returncode != 0:
            name, why = self._culprit(done.stderr, lines)
            raise UvFailure(f"uv could not install {name} ({why}) from {self.indexes()}")
        return [ln.strip() for ln in done.stderr.splitlines() if _FIGURES.match(ln.strip())]

    def wheel(self, folder: Path, out_dir: Path) -> list[Path]:
        """Build a wheel of the package at ``folder`` into ``out_dir`` (none if it failed)."""
        args = ["build", "--wheel", "--no-build-logs", "--out-dir", str(out_dir), str(folder)]
        for links in self.find_links:
            args += ["--find-links", links]
        done = self._run(args)
        return sorted(out_dir.glob("*.whl")) if done.returncode == 0 else []

    def add_kernel(self, name: str, display: str) -> Path:
        """Register a kernel spec starting this environment's interpreter; its kernels folder."""
        kernels = self.path / "share" / "jupyter" / "kernels"
        spec = {
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display,
            "language": "python",
            "metadata": {"debugger": True},
        }
        (kernels / name).mkdir(parents=True, exist_ok=True)
        (kernels / name / "kernel.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
        return kernels

    def indexes(self) -> str:
        """Where uv looks for distributions, as a phrase for messages."""
        where = [
            os.environ[v]
            for v in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL")
            if os.environ.get(v)
        ] or ["uv's configured index (PyPI unless uv.toml or UV_INDEX say otherwise)"]
        where += [f"--find-links {d}" for d in self.find_links]
        if os.environ.get("UV_OFFLINE"):
            where.append("offline: uv's cache only")
        return ", ".join(where)

    # -- running uv -------------------------------------------------------------------------
    def _install(self, lines: Iterable[str], dry_run: bool) -> subprocess.CompletedProcess[str]:
        requirements = self.path.with_name(f".{self.path.name}.requirements.txt")
        requirements.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        args = [
            "pip",
            "install",
            "--no-deps",
            "--python",
            str(self.python),
            "-r",
            str(requirements),
        ]
        for folder in self.find_links:
            args += ["--find-links", folder]
        if dry_run:
            args.append("--dry-run")
        try:
            return self._run(args)
        finally:
            requirements.unlink(missing_ok=True)

    def _culprit(self, stderr: str, lines: Mapping[str, str]) -> tuple[str, str]:
        """The distribution uv's error is about, and uv's reason in one line."""
        reason = _reason(stderr)
        for pattern in _NAMED:
            for match in pattern.finditer(stderr):
                name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
                if name in lines:
                    return name, reason
        raise UvFailure(f"uv failed: {reason} (looking in {self.indexes()})")

    def _uv(self, args: list[str], what: str) -> None:
        done = self._run(args)
        if done.returncode != 0:
            raise UvFailure(f"uv could not {what}: {_reason(done.stderr)}")

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
        env.setdefault("UV_NO_PROGRESS", "1")
        try:
            return subprocess.run([self.uv, *args], capture_output=True, text=True, env=env)
        except OSError as exc:
            raise UvFailure(f"cannot run uv ({self.uv}): {exc}") from None


def _reason(stderr: str) -> str:
    """uv's error in one line: its ``error:`` and ``cause:`` lines, joined."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    picked = [
        ln.removeprefix("error: ").removeprefix("× ")
        for ln in lines
        if ln.startswith(("error:", "×", "cause:", "╰─▶", "Caused by:"))
    ] or lines[-1:]
    text = " ".join(p.removeprefix("cause: ").removeprefix("╰─▶ ") for p in picked)
    return text[:400] or "no message"
