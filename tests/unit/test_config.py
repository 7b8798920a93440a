"""Root discovery and settings precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.config import find_root, load_settings
from jupyter_mlops.errors import InvalidInput


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MLOPS_HOME", "MLFLOW_TRACKING_URI", "MLOPS_DATA_URI", "MLOPS_EXPERIMENT"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("marker", [".mlops", "pyproject.toml", ".git"])
def test_root_is_first_folder_with_a_marker(tmp_path: Path, marker: str) -> None:
    project = tmp_path / "project"
    nested = project / "notebooks" / "deep"
    nested.mkdir(parents=True)
    target = project / marker
    if marker == "pyproject.toml":
        target.write_text("[project]\nname='x'\n")
    else:
        target.mkdir()
    assert find_root(nested) == project
    assert find_root(nested / "train.ipynb") == project


def test_root_falls_back_to_start_folder(tmp_path: Path) -> None:
    lonely = tmp_path / "a" / "b"
    lonely.mkdir(parents=True)
    # tmp_path itself carries no marker, but a parent of it might; only assert when none does
    if not any(
        (p / m).exists() for p in lonely.parents for m in (".mlops", "pyproject.toml", ".git")
    ):
        assert find_root(lonely) == lonely


def test_embedded_defaults_live_under_root(tmp_path: Path) -> None:
    (tmp_path / ".mlops").mkdir()
    s = load_settings(tmp_path)
    assert s.root == tmp_path.resolve()
    assert s.tracking_uri.startswith(f"sqlite:///{tmp_path.resolve()}/.mlops/mlflow.db")
    assert s.artifact_root == str(tmp_path.resolve() / ".mlops" / "artifacts")
    assert s.data_uri == str(tmp_path.resolve() / ".mlops" / "data")
    assert s.sources["tracking_uri"] == "default"


def test_precedence_argument_env_pyproject_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "http://from-pyproject:5000"\n'
        'data_uri = "memory://pyproject"\nexperiment = "from-pyproject"\n'
    )
    s = load_settings(tmp_path)
    assert (s.tracking_uri, s.data_uri, s.experiment) == (
        "http://from-pyproject:5000",
        "memory://pyproject",
        "from-pyproject",
    )
    assert s.artifact_root is None  # a server decides where artifacts go
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    s = load_settings(tmp_path)
    assert s.tracking_uri == "http://from-env:5000"
    assert s.sources["tracking_uri"] == "environment"
    s = load_settings(tmp_path, tracking_uri="http://explicit:5000")
    assert s.tracking_uri == "http://explicit:5000"
    assert s.sources["tracking_uri"] == "argument"


def test_mlops_home_overrides_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    s = load_settings(tmp_path)
    assert s.root == home.resolve()
    assert str(home.resolve() / ".mlops" / "mlflow.db") in s.tracking_uri


def test_unknown_pyproject_key_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops]\ntraking_uri = "x"\n')
    with pytest.raises(InvalidInput, match=r"unknown key\(s\) traking_uri .* valid keys: "):
        load_settings(tmp_path)


def test_broken_pyproject_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops\n")
    with pytest.raises(InvalidInput, match=r"cannot read .*pyproject\.toml"):
        load_settings(tmp_path)


def test_relative_pyproject_locations_resolve_against_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    sub = project / "notebooks" / "sub"
    sub.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        "[tool.jupyter-mlops]\n"
        'data_uri = "store/data"\n'
        'tracking_uri = "sqlite:///store/mlflow.db?timeout=5"\n'
    )
    seen = []
    for cwd in (project, sub):  # the server at the root, a kernel in a subfolder
        monkeypatch.chdir(cwd)
        s = load_settings()
        seen.append((s.data_uri, s.tracking_uri))
    assert seen[0] == seen[1]
    assert seen[0] == (
        str(project / "store" / "data"),
        f"sqlite:///{project / 'store' / 'mlflow.db'}?timeout=5",
    )


def test_urls_and_absolute_paths_in_pyproject_are_kept(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jupyter-mlops]\n"
        'data_uri = "s3://bucket/prefix"\n'
        'tracking_uri = "sqlite:////abs/mlflow.db"\n'
    )
    s = load_settings(tmp_path)
    assert (s.data_uri, s.tracking_uri) == ("s3://bucket/prefix", "sqlite:////abs/mlflow.db")
