"""A fresh virtual environment with a private ``HOME``, as a new user's machine has.

Shared by the tests that install the package from its files alone (Binder, the wheel):
the files a clone has, an environment free of this session's variables (pip's wheel
cache is shared so repeated runs do not download again), and commands that fail with
their output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: built JupyterLab extension: not in git; `make test` builds it before pytest
LABEXT_BUILD = Path("src/jupyter_mlops/labextension")


def checkout(dest: Path) -> Path:
    """The files a clone has (plus the labextension build, so a build skips npm)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    if (REPO / LABEXT_BUILD / "static" / "style.js").exists():
        shutil.copytree(REPO / LABEXT_BUILD, dest / LABEXT_BUILD, dirs_exist_ok=True)
    return dest


def environment(venv: Path, home: Path) -> dict[str, str]:
    """This process's environment without our and Python's variables, pointing at ``venv``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_", "MLFLOW_", "JUPYTER_", "PYTHON", "VIRTUAL_ENV"))
    }
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env.update(
        HOME=str(home),
        PIP_CACHE_DIR=cache,
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def create(base: Path) -> dict[str, str]:
    """Make ``base/venv`` and ``base/home``; return the environment that uses them."""
    venv, home = base / "venv", base / "home"
    home.mkdir(parents=True, exist_ok=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    return environment(venv, home)


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> str:
    """Run ``argv``; its stdout, or a failed assertion showing the end of its output."""
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def listing(argv: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """Lines a ``jupyter ... list`` command prints (it writes part of them on stderr)."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return (done.stdout + done.stderr).splitlines()
