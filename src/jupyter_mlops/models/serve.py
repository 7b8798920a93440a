"""Serving a registered version with MLflow's own scoring server (``/invocations``, ``/ping``)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..tracking.api import tracker
from .loading import local_model_dir
from .refs import resolve

__all__ = ["ServePlan", "plan", "run"]


@dataclass(frozen=True)
class ServePlan:
    """What ``jupyter mlops serve`` will run: the resolved version and the server command."""

    name: str
    version: str
    model_dir: str
    host: str
    port: int
    argv: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The scoring endpoint."""
        return f"http://{self.host}:{self.port}/invocations"


def plan(ref: str, port: int = 5000, host: str = "127.0.0.1", workers: int = 1) -> ServePlan:
    """Resolve ``ref`` and build the scoring-server command (nothing is started)."""
    if not 0 < port < 65536:
        raise InvalidInput(f"--port must be 1-65535, got {port}; e.g. --port 5001")
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    t = tracker()
    version = resolve(t.client, ref)
    path = local_model_dir(t.client, version, t.settings.tracking_uri)
    argv = [
        sys.executable, "-m", "mlflow", "models", "serve",
        "--model-uri", str(path), "--env-manager", "local",
        "--host", host, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    return ServePlan(version.name, str(version.version), str(path), host, port, argv)


def run(p: ServePlan) -> int:
    """Run the server in the foreground until it exits or is interrupted; return its code."""
    # MLflow starts ``uvicorn`` by name: make this interpreter's scripts folder win on PATH
    # (a venv used without activating it is the common case in kernels and CI).
    scripts = os.path.dirname(sys.executable)
    path = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracker().settings.tracking_uri}
    proc = subprocess.Popen(p.argv, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
