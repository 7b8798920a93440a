"""Where things are stored: root discovery, URIs and settings.

Precedence, highest first: an explicit argument, the environment
(``MLOPS_HOME``, ``MLFLOW_TRACKING_URI``, ``MLOPS_DATA_URI``,
``MLOPS_EXPERIMENT``), ``[tool.jupyter-mlops]`` in the root's
``pyproject.toml``, then the embedded defaults under ``<root>/.mlops/``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "PRELOAD_ENV",
    "STORE_DIRNAME",
    "Settings",
    "find_root",
    "load_settings",
    "project_preload",
]

STORE_DIRNAME = ".mlops"
_ROOT_MARKERS = (STORE_DIRNAME, "pyproject.toml", ".git")
#: setting key -> environment variable
_ENV = {
    "home": "MLOPS_HOME",
    "tracking_uri": "MLFLOW_TRACKING_URI",
    "data_uri": "MLOPS_DATA_URI",
    "experiment": "MLOPS_EXPERIMENT",
}
#: comma-separated modules a kernel template imports before it forks (``preload`` in
#: ``[tool.jupyter-mlops]``, a list of module names, is the project's default)
PRELOAD_ENV = "MLOPS_PRELOAD"
#: keys of ``[tool.jupyter-mlops]`` that are not store settings
_PROJECT_ONLY = ("preload",)
#: JSON object ``{name: digest}``: a bare snapshot name loads that digest instead of the
#: latest (set for headless runs and pipeline steps, read by ``data.reader.pinned``)
PINNED_SNAPSHOTS_ENV = "MLOPS_PINNED_SNAPSHOTS"
#: seconds SQLite waits on a locked database before giving up
SQLITE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the stores.

    Attributes
    ----------
    root : Path
        Project root holding ``.mlops/``.
    tracking_uri : str
        MLflow tracking (and registry) URI.
    artifact_root : str or None
        Artifact location for new experiments; ``None`` lets a tracking server decide.
    data_uri : str
        fsspec URL of the snapshot store.
    experiment : str or None
        Experiment configured for this root, if any.
    sources : dict
        For each setting, where its value came from (``argument``, ``environment``,
        ``pyproject.toml`` or ``default``), shown by ``%mlops status``.
    """

    root: Path
    tracking_uri: str
    artifact_root: str | None
    data_uri: str
    experiment: str | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def store_dir(self) -> Path:
        """The ``<root>/.mlops`` folder of the embedded store."""
        return self.root / STORE_DIRNAME

    @property
    def is_embedded_sqlite(self) -> bool:
        """Whether tracking goes to a local SQLite file."""
        return self.tracking_uri.startswith("sqlite:")

    def with_overrides(self, **values: Any) -> Settings:
        """Return a copy with some fields replaced."""
        return replace(self, **values)


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the project root for ``start`` (a folder or file; default the cwd).

    The root is the first folder, walking up, that holds ``.mlops/``,
    ``pyproject.toml`` or ``.git``; when none does, the start folder itself.

    Examples
    --------
    >>> find_root("/tmp/project/notebooks/train.ipynb")  # doctest: +SKIP
    PosixPath('/tmp/project')
    """
    here = Path(start if start is not None else os.getcwd()).expanduser().resolve()
    if here.is_file() or (not here.exists() and here.suffix):
        here = here.parent
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return here


def _pyproject_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc}; fix the file or remove [tool.jupyter-mlops]"
        ) from None
    table = doc.get("tool", {}).get("jupyter-mlops", {})
    if not isinstance(table, dict):
        raise InvalidInput(f"[tool.jupyter-mlops] in {path} must be a table of key = value")
    unknown = sorted(set(table) - set(_ENV) - set(_PROJECT_ONLY))
    if unknown:
        raise InvalidInput(
            f"unknown key(s) {', '.join(unknown)} in [tool.jupyter-mlops] of {path}; "
            f"valid keys: {', '.join(sorted([*_ENV, *_PROJECT_ONLY]))}"
        )
    return table


def _pyproject_settings(root: Path) -> dict[str, Any]:
    table = _pyproject_table(root)
    return {k: str(v) for k, v in table.items() if k in _ENV}


def project_preload(root: Path) -> list[str]:
    """``preload`` of ``[tool.jupyter-mlops]`` in ``root``'s pyproject.toml (module names)."""
    value = _pyproject_table(root).get("preload", [])
    if not isinstance(value, list) or not all(
        isinstance(v, str) and all(p.isidentifier() for p in v.split(".")) for v in value
    ):
        raise InvalidInput(
            f"preload in [tool.jupyter-mlops] of {root / 'pyproject.toml'} must be a list of "
            'module names, e.g. preload = ["pandas", "sklearn.ensemble"]'
        )
    return list(value)


def _anchored(project: dict[str, str], folder: Path) -> dict[str, str]:
    """Resolve relative locations of ``[tool.jupyter-mlops]`` against the file's ``folder``.

    Every process of the project (a kernel in a subfolder, the server at the
    root, a scheduler elsewhere) must find the same store: a relative path must
    not depend on the working folder of whoever reads the file.
    """
    out = dict(project)
    if "data_uri" in out and _is_relative_path(out["data_uri"]):
        out["data_uri"] = str((folder / Path(out["data_uri"]).expanduser()).resolve())
    uri = out.get("tracking_uri")
    if uri is not None:
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            rest = uri.removeprefix("sqlite:///")
            name, sep, query = rest.partition("?")
            if name and name != ":memory:":
                out["tracking_uri"] = f"sqlite:///{(folder / name).resolve()}{sep}{query}"
        elif _is_relative_path(uri):
            out["tracking_uri"] = str((folder / Path(uri).expanduser()).resolve())
    return out


def _is_relative_path(value: str) -> bool:
    """Whether ``value`` is a plain path (no URL scheme) that is not absolute."""
    if "://" in value or (":" in value and not value.startswith((".", "~"))):
        return False
    return not Path(value).expanduser().is_absolute()


def sqlite_uri(path: Path) -> str:
    """Return the SQLAlchemy URI of a SQLite file with a generous busy timeout."""
    return f"sqlite:///{path}?timeout={SQLITE_TIMEOUT_S}"


def load_settings(start: str | os.PathLike[str] | None = None, **explicit: str | None) -> Settings:
    """Resolve settings for the project containing ``start``.

    Parameters
    ----------
    start : path-like, optional
        Notebook file or folder to discover the root from; default the cwd.
    **explicit
        ``home``, ``tracking_uri``, ``data_uri`` or ``experiment`` given by the caller;
        ``None`` values are ignored.

    Returns
    -------
    Settings
    """
    sources: dict[str, str] = {}
    given = {k: v for k, v in explicit.items() if v is not None}
    unknown = sorted(set(given) - set(_ENV))
    if unknown:
        raise InvalidInput(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(_ENV)}")

    def pick(key: str, project: dict[str, Any]) -> str | None:
        if key in given:
            sources[key] = "argument"
            return given[key]
        env_value = os.environ.get(_ENV[key])
        if env_value:
            sources[key] = "environment"
            return env_value
        if key in project:
            sources[key] = "pyproject.toml"
            return str(project[key])
        sources[key] = "default"
        return None

    home = pick("home", {})
    root = Path(home).expanduser().resolve() if home else find_root(start)
    project = _anchored(_pyproject_settings(root), root)
    if not home and "home" in project:
        root = (root / project["home"]).resolve()
        sources["home"] = "pyproject.toml"
    store = root / STORE_DIRNAME
    tracking_uri = pick("tracking_uri", project) or sqlite_uri(store / "mlflow.db")
    data_uri = pick("data_uri", project) or str(store / "data")
    experiment = pick("experiment", project)
    artifact_root = str(store / "artifacts") if tracking_uri.startswith("sqlite:") else None
    return Settings(
        root=root,
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        data_uri=data_uri,
        experiment=experiment,
        sources=sources,
    )
