"""A private PostgreSQL cluster and the team tracking server, for tests and benches.

:class:`PostgresCluster` runs Debian's PostgreSQL binaries on a free loopback
port with its data and socket in a temporary folder; :class:`TeamServer` puts
``mlflow server --enable-workspaces`` in front of it. Both are stopped by the
code that started them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .mlflow_server import MlflowServer, free_port

__all__ = ["PostgresCluster", "TeamServer", "find_pg_bin"]

_DB_USER = "mlops"
_DB_PASSWORD = "mlops-test"
#: MLflow's background job runner (GenAI jobs) is not used here: six idle processes fewer
_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def find_pg_bin() -> Path | None:
    """Folder of PostgreSQL's server binaries (Debian's newest first), or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on ``127.0.0.1``.

    As root the server runs as the ``postgres`` user (PostgreSQL refuses to run
    as root); otherwise as the current user.

    The cluster lives in its own folder directly under the system temporary
    folder, because the ``postgres`` user must be able to reach it (pytest's
    folders are private to root).
    """

    def __init__(self) -> None:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed; run scripts/ensure-test-services.sh")
        self.bin = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sockets"
        self.port = free_port()
        self.log = self.base / "postgres.log"
        self._started = False

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        cmd = [*self._as_owner(), str(self.bin / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.base, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-2000:]}")

    def start(self) -> PostgresCluster:
        """Create the cluster, start it and create a login role for clients."""
        self.sockets.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        pwfile = self.base / "pw"
        pwfile.write_text(_DB_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.sockets} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self._started = True
        self._psql(f"CREATE ROLE {_DB_USER} LOGIN SUPERUSER PASSWORD '{_DB_PASSWORD}'")
        return self

    def _psql(self, sql: str) -> None:
        try:
            import psycopg2
        except ImportError:
            raise RuntimeError(
                "the PostgreSQL team setup needs psycopg2: pip install 'jupyter-mlops[test]'"
            ) from None

        con = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", password=_DB_PASSWORD,
            dbname="postgres",
        )  # fmt: skip
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URI."""
        self._psql(f'CREATE DATABASE "{name}" OWNER {_DB_USER}')
        return self.uri(name)

    def uri(self, name: str) -> str:
        """SQLAlchemy URI of database ``name`` over TCP on the loopback."""
        return f"postgresql+psycopg2://{_DB_USER}:{_DB_PASSWORD}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and remove its folder when we made it."""
        if self._started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            finally:
                self._started = False
        shutil.rmtree(self.base, ignore_errors=True)


class TeamServer:
    """PostgreSQL plus ``mlflow server --enable-workspaces`` on top of it.

    Parameters
    ----------
    base : Path, optional
        Folder for artifacts and the server log; temporary when omitted.
    workspaces : bool
        Serve MLflow workspaces (one per test isolates tests on one server).
    workers : int
        Server worker processes.
    """

    def __init__(
        self, base: Path | None = None, *, workspaces: bool = True, workers: int = 1
    ) -> None:
        self._own_base = base is None
        self.base = base or Path(tempfile.mkdtemp(prefix="mlops-team-"))
        self.postgres = PostgresCluster()
        self.workspaces = workspaces
        self.workers = workers
        self.mlflow: MlflowServer | None = None

    @property
    def url(self) -> str:
        """The tracking server's URL."""
        if self.mlflow is None:
            raise RuntimeError("start() the team server first")
        return self.mlflow.url

    def start(self) -> TeamServer:
        """Start PostgreSQL, create the ``mlflow`` database and start the server."""
        self.postgres.start()
        try:
            backend = self.postgres.create_database("mlflow")
            artifacts = self.base / "artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            extra = ["--enable-workspaces"] if self.workspaces else []
            self.mlflow = MlflowServer(
                backend, artifacts, extra_args=extra, workers=self.workers, extra_env=_SERVER_ENV
            ).start(timeout=240)
        except BaseException:
            self.postgres.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server, then PostgreSQL; remove the folder when we made it."""
        try:
            if self.mlflow is not None:
                self.mlflow.stop()
        finally:
            self.postgres.stop()
            if self._own_base:
                shutil.rmtree(self.base, ignore_errors=True)
