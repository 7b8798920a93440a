"""A real ``mlflow server`` on 127.0.0.1 for tests (started and stopped by the test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .processes import free_port, stop_group, wait_http

__all__ = ["MlflowServer", "free_port"]


class MlflowServer:
    """``mlflow server`` over ``backend_uri`` with artifacts proxied to ``artifacts``."""

    def __init__(
        self,
        backend_uri: str,
        artifacts: Path,
        port: int | None = None,
        *,
        extra_args: list[str] | None = None,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.backend_uri = backend_uri
        self.extra_args = list(extra_args or [])
        self.workers = workers
        self.extra_env = dict(extra_env or {})
        self.artifacts = artifacts
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = artifacts.parent / f"mlflow-server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> MlflowServer:
        """Start the server and wait until ``/health`` answers."""
        mlflow = str(Path(sys.executable).with_name("mlflow"))
        cmd = [
            mlflow, "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.artifacts),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), *self.extra_args,
        ]  # fmt: skip
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_WORKSPACE"))
        }
        # MLflow's background job runner starts several consumer processes tests never use.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        env.update(self.extra_env)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            wait_http(
                f"{self.url}/health", self.proc, timeout, log=lambda: self.log.read_text()[-2000:]
            )
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and every process it started."""
        stop_group(self.proc)
