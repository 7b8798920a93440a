"""The environment lock: what is installed, read from real distribution metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib

from jupyter_mlops.tracking.writing import environment_lock as el


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder first on ``sys.path``, and a private lock cache."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    el._memo.clear()
    yield folder
    el._memo.clear()


def _install(site: Path, name: str, version: str, direct_url: dict | None = None) -> None:
    """Install a distribution's metadata the way an installer leaves it."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_lock_lists_every_installed_distribution_with_its_version(site: Path) -> None:
    lock = el.current_lock()
    installed = {el.normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert lock.versions == installed  # what importlib sees, nothing more or less
    assert lock.python.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")


def test_an_install_is_seen_by_the_next_run_and_the_cache_serves_an_unchanged_one(
    site: Path,
) -> None:
    before = el.current_lock()
    assert "tiny-pkg" not in before.versions
    _install(site, "Tiny_Pkg", "1.2.0")
    after = el.current_lock()
    assert after.versions["tiny-pkg"] == "1.2.0"
    assert after.digest() != before.digest()
    el._memo.clear()  # a new process: the file cache answers with the same lock
    assert el.current_lock() == after
    assert list((site.parent / "cache" / "jupyter-mlops" / "environment-locks").glob("*.toml"))


def test_a_file_saved_beside_the_notebook_keeps_the_lock_in_memory(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel's import path starts with its notebook's folder, which changes with every
    # save; only folders holding distributions say whether something was installed.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    monkeypatch.syspath_prepend("")
    first = el.current_lock()
    (work / "notebook.ipynb").write_text("{}")
    (work / "helper.py").write_text("x = 1\n")
    assert el.current_lock() is first  # the memo, neither the file cache nor a new scan
    _install(site, "after-save", "0.1")
    assert el.current_lock().versions["after-save"] == "0.1"


def test_pylock_toml_is_pep_751_and_round_trips(site: Path, tmp_path: Path) -> None:
    repo = tmp_path / "mypkg"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"],
        check=True,
    )
    (repo / "a.py").write_text("x = 2\n")  # dirty
    _install(site, "mypkg", "0.1", {"url": repo.as_uri(), "dir_info": {"editable": True}})
    vcs = {"url": "https://example.org/r.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}
    _install(site, "fromgit", "2.0", vcs)
    lock = el.current_lock()
    doc = tomllib.loads(lock.to_toml())
    assert doc["lock-version"] == "1.0" and doc["created-by"] == "jupyter-mlops"
    entries = {p["name"]: p for p in doc["packages"]}
    assert entries["mypkg"]["directory"] == {"path": str(repo), "editable": True}
    tool = entries["mypkg"]["tool"]["jupyter-mlops"]
    assert tool["git-dirty"] is True and len(tool["git-commit"]) == 40
    assert entries["fromgit"]["vcs"]["commit-id"] == "abc123"
    assert el.parse_lock(lock.to_toml()) == lock
    reqs = lock.requirements().splitlines()
    assert "fromgit @ git+https://example.org/r.git@abc123" in reqs
    assert f"-e {repo.as_uri()}" in reqs
    pins = [line for line in reqs if "==" in line]
    assert len(pins) == sum(1 for p in lock.packages if not p.source)
