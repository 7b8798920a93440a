"""Shared fixtures: an isolated embedded store per test, a real IPython shell, markers.

Markers: ``integration`` (real kernels, subprocesses, servers) and ``ui``
(a real browser). ``ui`` tests are skipped with a reason when Chromium is missing.

Team mode: with ``MLOPS_TEST_STORE=server`` one PostgreSQL cluster and one
``mlflow server --enable-workspaces`` serve the whole session, and the ``store``
fixture gives every test a fresh MLflow workspace on it (plus its own snapshot
folder standing in for the shared fsspec location). Tests marked
``sqlite_only`` are about the embedded SQLite file and are skipped there.

Hypothesis tests (the snapshot property tests, the fuzz tests) run under the profile
``MLOPS_HYPOTHESIS`` names: ``ci`` (the default) draws the same examples on every run
and every xdist worker (derandomized, no example database, so nothing one run found
changes the next); ``explore`` draws new ones each run and keeps failures in
``.hypothesis/`` to try first next time.
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import shutil
import sys
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.tracking import api

os.environ.setdefault("MLOPS_NO_WORKER", "1")  # tests start no warm worker unless they mean to
# A test's kernel template is retired when the test ends; one left behind does not linger.
os.environ.setdefault("MLOPS_FORK_IDLE", "120")
# One serving process unless a test asks for more (the default is one per core).
os.environ.setdefault("MLOPS_SERVE_WORKERS", "1")

_ENV_VARS = (
    "MLOPS_HOME",
    "MLFLOW_TRACKING_URI",
    "MLOPS_DATA_URI",
    "MLOPS_EXPERIMENT",
    "MLOPS_RUN_ID",
    "MLOPS_NOTEBOOK_PATH",
    "JPY_SESSION_NAME",
    "MLFLOW_WORKSPACE",
)

#: ``ci`` (default) or ``explore``: the Hypothesis profile (loaded before test modules import,
#: so their ``@settings`` inherit it)
HYPOTHESIS_ENV = "MLOPS_HYPOTHESIS"
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get(HYPOTHESIS_ENV, "").strip() or "ci")

#: ``embedded`` (default) or ``server``: which tracking store the ``store`` fixture gives
TEST_STORE_ENV = "MLOPS_TEST_STORE"
_TEST_STORES = ("embedded", "server")
_workspace_numbers = itertools.count(1)


def store_kind() -> str:
    """The store this session tests against (``embedded`` or ``server``)."""
    return os.environ.get(TEST_STORE_ENV, "embedded").strip() or "embedded"


def pytest_configure(config: pytest.Config) -> None:
    kind = store_kind()
    if kind not in _TEST_STORES:
        raise pytest.UsageError(
            f"{TEST_STORE_ENV}={kind!r} is not a test store; use one of {', '.join(_TEST_STORES)}"
        )


#: seconds past a test's own timeout (pytest-timeout) after which its process is ended
_BACKSTOP_S = 120.0


def _timeout_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """A hang that pytest-timeout cannot break still ends, with every thread's stack.

    pytest-timeout interrupts a test with SIGALRM, which only works once the main thread is
    back in Python. Should it be stuck in C (a lock, a socket), faulthandler's watchdog, a
    thread of its own that needs no interpreter, prints all stacks and ends the process
    ``_BACKSTOP_S`` later; a parallel run then goes on with a fresh worker.
    """
    limit = _timeout_of(item)
    if limit > 0:
        faulthandler.dump_traceback_later(limit + _BACKSTOP_S, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def pytest_unconfigure(config: pytest.Config) -> None:
    # A process that cannot exit (a thread that never ends) would stall the whole run.
    faulthandler.dump_traceback_later(_BACKSTOP_S, exit=True, file=sys.__stderr__)


def pytest_report_header(config: pytest.Config) -> str:
    return f"jupyter-mlops test store: {store_kind()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chromium = shutil.which("chromium") or os.path.exists("/usr/bin/chromium")
    skip_ui = pytest.mark.skip(reason="Chromium is not installed (make test installs it)")
    skip_sqlite = pytest.mark.skip(
        reason="about the embedded SQLite store; this pass uses a server"
    )
    skip_once = pytest.mark.skip(reason="uses no tracking store of the test's: runs in one pass")
    server_mode = store_kind() == "server"
    for item in items:
        if "ui" in item.keywords and not chromium:
            item.add_marker(skip_ui)
        if server_mode and "sqlite_only" in item.keywords:
            item.add_marker(skip_sqlite)
        if server_mode and "store_free" in item.keywords:
            item.add_marker(skip_once)


@pytest.fixture(scope="session")
def team_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """PostgreSQL + ``mlflow server --enable-workspaces``, once per session (team mode)."""
    from jupyter_mlops.testing.team import TeamServer

    server = TeamServer(tmp_path_factory.mktemp("team-server")).start()
    yield server
    server.stop()


def _use_team_workspace(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the environment at a fresh workspace of the session's team server."""
    from mlflow import MlflowClient

    server = request.getfixturevalue("team_server")
    name = f"t{next(_workspace_numbers)}-{uuid.uuid4().hex[:8]}"
    MlflowClient(server.url).create_workspace(name, description=request.node.nodeid[-500:])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_WORKSPACE", name)


@pytest.fixture
def store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """An empty store rooted at ``tmp_path/project``, used by the API and magics.

    Embedded SQLite by default; a fresh workspace on the team server (and a
    separate snapshot folder) when ``MLOPS_TEST_STORE=server``.
    """
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "project"
    (root / ".mlops").mkdir(parents=True)
    monkeypatch.setenv("MLOPS_HOME", str(root))
    if store_kind() == "server":
        _use_team_workspace(request, monkeypatch)
        monkeypatch.setenv("MLOPS_DATA_URI", str(tmp_path / "shared-snapshots"))
    monkeypatch.chdir(root)
    settings = load_settings()
    api.reset(settings)
    yield settings
    api.reset(None)
    _retire_templates(tmp_path)


def _retire_templates(folder: Path) -> None:
    """Stop the kernel templates of projects under ``folder`` (forked kernels keep running)."""
    from jupyter_mlops.headless.fork.templates import retire_templates

    retire_templates(folder)


@pytest.fixture(scope="session", autouse=True)
def _no_templates_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop the kernel templates of every project the session made (and the store did not)."""
    yield
    _retire_templates(tmp_path_factory.getbasetemp())


@pytest.fixture
def client(store: Settings):  # type: ignore[no-untyped-def]
    """An ``MlflowClient`` on the test store, reading exactly what MLflow's UI reads."""
    from mlflow import MlflowClient

    from jupyter_mlops.tracking.mlflow_bridge.store import open_client

    open_client(store)  # the store is created the way the product creates it

    return MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)


@pytest.fixture(scope="session")
def _shell(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from IPython.testing.globalipapp import start_ipython

    from jupyter_mlops import magics

    # Loading warms MLflow up against a store: keep it out of the checkout.
    previous = os.environ.get("MLOPS_HOME")
    os.environ["MLOPS_HOME"] = str(tmp_path_factory.mktemp("load-ext-home"))
    try:
        shell = start_ipython()
        shell.run_line_magic("load_ext", "jupyter_mlops")
        if magics.warm_up_thread is not None:
            magics.warm_up_thread.join()
    finally:
        if previous is None:
            os.environ.pop("MLOPS_HOME", None)
        else:
            os.environ["MLOPS_HOME"] = previous
    return shell


@pytest.fixture
def ip(_shell, store: Settings):  # type: ignore[no-untyped-def]
    """A real IPython shell with ``%load_ext jupyter_mlops`` done, on the test store."""
    yield _shell
    for name in [n for n in list(_shell.user_ns) if not n.startswith("_")]:
        if name not in ("In", "Out", "get_ipython", "exit", "quit"):
            _shell.user_ns.pop(name, None)
