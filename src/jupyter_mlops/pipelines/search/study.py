"""Studies kept with the store: Optuna's RDB storage in ``<root>/.mlops/studies.db``.

A study is named after its step's key (code, fixed params, search space, sweep
settings but ``trials``, inputs, packages), so running the pipeline again
continues it: finished trials are reused and only the missing ones run.

Examples
--------
>>> study = open_study(settings, key, config)      # doctest: +SKIP
>>> len(finished_trials(study))                    # doctest: +SKIP
12
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from typing import TYPE_CHECKING, Any

from .engine import import_optuna

if TYPE_CHECKING:  # pragma: no cover
    from ...config import Settings
    from .config import SearchConfig

__all__ = [
    "STUDIES_DB",
    "finished_trials",
    "open_study",
    "storage_url",
    "stored_trials",
]

STUDIES_DB = "studies.db"
#: trial attribute holding the MLflow run of a trial
RUN_ATTR = "mlops.run_id"


def storage_url(settings: Settings) -> str:
    """Where studies are stored: a SQLite file beside the embedded store."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.store_dir / STUDIES_DB}"


def _storage(settings: Settings) -> Any:
    optuna = import_optuna()
    url = storage_url(settings)
    path = str(settings.store_dir / STUDIES_DB)
    return optuna.storages.RDBStorage(url, engine_kwargs={"creator": lambda: _connect(path)})


def _connect(path: str) -> sqlite3.Connection:
    """A connection to the studies database, in WAL mode and without a flush per commit.

    Optuna commits several times for each trial it asks and is told; with the default
    (rollback journal, a flush to disk per commit) that was most of a short trial's cost
    in the process driving a search. WAL lets readers (the sidebar, a second search)
    read beside the writer; a commit survives a crash of the process, and a power cut
    can lose only the last trials, which the next run of the search runs again.
    Concurrent writers wait up to a minute instead of failing with "database is locked".
    """
    conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def open_study(settings: Settings, name: str, config: SearchConfig, *, fresh: bool = False) -> Any:
    """Create or continue study ``name``; ``fresh`` deletes a stored one first (``--force``).

    Trials a previous process left RUNNING (it was killed) are marked failed, so
    they are run again.
    """
    optuna = import_optuna()
    storage = _storage(settings)
    if fresh:
        with contextlib.suppress(KeyError):  # nothing stored yet
            optuna.delete_study(study_name=name, storage=storage)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=config.sampler(),
        pruner=config.make_pruner(),
        direction=config.direction,
        load_if_exists=True,
    )
    TrialState = optuna.trial.TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)
    stored = len(study.get_trials(deepcopy=False))
    if stored and config.seed is not None:
        # A seeded sampler started afresh would repeat the stored trials' draws.
        study.sampler = dataclasses.replace(config, seed=config.seed + stored).sampler()
    return study


def finished_trials(study: Any) -> list[Any]:
    """Trials that count towards ``trials``: completed and pruned, in trial order."""
    TrialState = import_optuna().trial.TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED)
    return sorted(study.get_trials(deepcopy=False, states=states), key=lambda t: t.number)


def stored_trials(settings: Settings, name: str) -> list[Any]:
    """The finished trials of study ``name`` without creating it (empty when it does not exist)."""
    if not (settings.store_dir / STUDIES_DB).exists():
        return []
    optuna = import_optuna()
    try:
        study = optuna.load_study(study_name=name, storage=_storage(settings))
    except KeyError:
        return []
    return finished_trials(study)
