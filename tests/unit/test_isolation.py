"""Rebuilding a recorded environment: what is asked of uv, what cannot be, the cache, the scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_mlops.headless.isolation import env_cache
from jupyter_mlops.headless.isolation.install_plan import plan_install
from jupyter_mlops.headless.isolation.uv_env import UvEnv, UvFailure
from jupyter_mlops.tracking.writing import environment_lock as el
from jupyter_mlops.tracking.writing.environment_lock import EnvironmentLock, LockedPackage


def _lock(*packages: LockedPackage) -> EnvironmentLock:
    return EnvironmentLock("3.11.7", "CPython", "Linux", sys.executable, packages)


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-C",
            str(folder),
            *args,
        ],
        check=True,
        capture_output=True,
    )


def _checkout(folder: Path) -> str:
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "mine"\nversion = "0.1"\n')
    (folder / "mine.py").write_text("X = 1\n")
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "one")
    out = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True)
    return out.stdout.decode().strip()


def test_plan_pins_index_packages_and_lists_what_cannot_be_installed(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    commit = _checkout(clean)
    lock = _lock(
        LockedPackage("six", "1.16.0"),
        LockedPackage("gone", "1.0", {"kind": "directory", "path": str(tmp_path / "nope")}),
        LockedPackage(
            "dirty",
            "2.0",
            {"kind": "directory", "path": str(clean), "commit": commit, "dirty": True},
        ),
        LockedPackage(
            "mine",
            "0.1",
            {"kind": "directory", "path": str(clean), "commit": commit, "dirty": False},
        ),
        LockedPackage(
            "vcs", "3", {"kind": "vcs", "url": "https://example.invalid/r", "commit": "c"}
        ),
    )
    plan = plan_install(lock, {})
    assert plan.lines["six"] == "six==1.16.0"
    assert plan.lines["mine"] == clean.as_uri()
    assert plan.lines["vcs"] == "vcs @ git+https://example.invalid/r@c"
    why = {u.name: u.why for u in plan.unbuildable}
    assert set(why) == {"gone", "dirty"}
    assert "is gone" in why["gone"] and "uncommitted changes" in why["dirty"]
    assert plan.notes == []  # the clean checkout is where the run left it
    (local,) = plan.local.values()  # nothing uncommitted: a wheel of its commit will do
    assert (local.name, local.commit, local.path) == ("mine", commit, clean.resolve())

    (clean / "mine.py").write_text("X = 2\n")  # moved on since the run
    moved = plan_install(lock, {})
    (note,) = moved.notes
    assert note.startswith("mine: installed from") and "uncommitted changes" in note
    assert moved.local == {} and moved.lines["mine"] == clean.as_uri()  # uv builds the folder

    archive = tmp_path / "dirty-2.0.tar.gz"
    archive.write_bytes(b"")
    with_archive = plan_install(lock, {"dirty": archive})
    assert with_archive.lines["dirty"] == f"dirty @ {archive.as_uri()}"
    assert {u.name for u in with_archive.unbuildable} == {"gone"}


def test_a_dirty_checkout_is_archived_once_and_named_in_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    commit = _checkout(folder)
    (folder / "mine.py").write_text("X = 'dirty'\n")
    (folder / ".gitignore").write_text("ignored.txt\n")
    (folder / "ignored.txt").write_text("not packed")
    lock = _lock(LockedPackage("mine", "0.1", {"kind": "directory", "path": str(folder)}))
    sources, files = el.fresh_sources(
        [(p.name, p.version, p.source) for p in lock.packages], tmp_path / "cache"
    )
    (source,) = sources
    assert source["commit"] == commit and source["dirty"] is True
    (artifact, archive) = next(iter(files.items()))
    assert artifact == source["archive"] and artifact.startswith(el.SOURCES_DIR + "/")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert "mine-0.1/mine.py" in names and "mine-0.1/ignored.txt" not in names
        member = tar.extractfile("mine-0.1/mine.py")
        assert member is not None and member.read() == b"X = 'dirty'\n"
    again, files_again = el.fresh_sources(
        [("mine", "0.1", lock.packages[0].source)], tmp_path / "cache"
    )
    assert files_again == files and again == sources  # unchanged files: the same archive
    written = replace(lock, packages=(LockedPackage("mine", "0.1", source),))
    assert el.parse_lock(written.to_toml()).packages[0].source == {**source, "editable": False}


@pytest.mark.parametrize("in_git", [True, False])
def test_a_project_store_inside_the_package_is_never_read_into_its_archive(
    tmp_path: Path, in_git: bool
) -> None:
    """``pip install .`` of the project itself: its ``.mlops/`` store stays out of the archive.

    Reading a SQLite file the process has open and closing it drops that process's locks on
    the database, so an archive that packed ``.mlops/mlflow.db`` broke the run's own writes.
    """
    import sqlite3

    folder = tmp_path / "project"
    if in_git:
        _checkout(folder)
    else:
        folder.mkdir()
    (folder / "mine.py").write_text("X = 'dirty'\n")
    (folder / ".mlops").mkdir()
    db = sqlite3.connect(folder / ".mlops" / "mlflow.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE runs (id TEXT)")
    db.commit()
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("{}")
    (folder / "pkg").mkdir()
    (folder / "pkg" / "__init__.py").write_text("")
    try:
        _, files = el.fresh_sources(
            [("project", "0.1", {"kind": "directory", "path": str(folder)})], tmp_path / "cache"
        )
        with tarfile.open(next(iter(files.values()))) as tar:
            names = set(tar.getnames())
        assert {"project-0.1/mine.py", "project-0.1/pkg/__init__.py"} <= names
        assert not [n for n in names if "/." in n]  # no hidden folder, the store among them
        db.execute("INSERT INTO runs VALUES ('still writable')")
        db.commit()
    finally:
        db.close()


def test_uv_failures_name_the_distribution_or_say_what_uv_said(tmp_path: Path) -> None:
    env = UvEnv("uv", tmp_path / "env", ["/wheels"])
    lines = {"six": "six==1.16.0", "no-such": "no-such==1.0"}
    stderr = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because no-such was not found in the package registry and you require "
        "no-such==1.0, we can conclude that your requirements are unsatisfiable.\n"
    )
    name, why = env._culprit(stderr, lines)
    assert name == "no-such" and "not found in the package registry" in why
    with pytest.raises(UvFailure, match=r"uv failed: network down.*--find-links /wheels"):
        env._culprit("error: network down\n", lines)


def test_the_cache_lists_complete_environments_and_clears_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = env_cache.cache_root()
    done, partial = root / "aaa", root / "bbb"
    (done / "lib").mkdir(parents=True)
    (done / "lib" / "x.py").write_bytes(b"x" * 10000)
    uv_cache = tmp_path / "uv"  # uv installs by hard-linking from its cache
    uv_cache.mkdir()
    (uv_cache / "big.so").write_bytes(b"y" * 100_000)
    os.link(uv_cache / "big.so", done / "lib" / "big.so")
    partial.mkdir()  # a build that stopped half-way: no marker
    env_cache.write_marker(done, {"python": "3.11.7", "installed": 3, "skipped": []})
    (listed,) = env_cache.list_cached()
    assert listed.key == "aaa" and listed.python == "3.11.7" and listed.distributions == 3
    assert listed.size_bytes >= 110_000  # on disk in the environment
    assert 10_000 <= listed.own_bytes < 100_000  # what removing it frees: not uv's file
    assert json.loads(json.dumps(listed.to_dict()))["path"] == str(done)
    assert sorted(env_cache.clear_cache()) == ["aaa", "bbb"]
    assert env_cache.list_cached() == [] and not done.exists() and not partial.exists()


def test_another_interpreter_is_asked_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    asked: list[str] = []
    real = el._ask
    monkeypatch.setattr(el, "_ask", lambda exe, env: asked.append(exe) or real(exe, env))
    first = el.interpreter_lock(python)
    assert first is not None and first.executable == python
    assert "mlflow" not in first.versions  # that environment's distributions, not ours
    assert el.interpreter_lock(python) == first and asked == [python]
    assert el.interpreter_lock(str(tmp_path / "no-python")) is None
