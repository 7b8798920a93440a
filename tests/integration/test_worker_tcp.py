"""The warm worker on loopback TCP with a token, as on Windows (``MLOPS_TEST_NON_POSIX=1``).

Real workers, kernels and store, on this machine's portable branch: the worker listens on
127.0.0.1, publishes its port and a secret token in a file only this user can read, and
serves only requests carrying that token.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_mlops.headless.worker import client as worker_client
from jupyter_mlops.headless.worker.address import (
    NO_WORKER_ENV,
    PROTOCOL,
    endpoint_path,
    socket_path,
)
from jupyter_mlops.headless.worker.server import EXECUTOR_TAG
from jupyter_mlops.liveness import process_alive
from jupyter_mlops.portability import TEST_NON_POSIX_ENV
from jupyter_mlops.testing.notebooks import code, write_notebook

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "jupyter-mlops")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def tcp_worker(store, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A worker started through the CLI on the portable branch; stopped after the test."""
    monkeypatch.setenv(TEST_NON_POSIX_ENV, "1")
    monkeypatch.delenv(NO_WORKER_ENV, raising=False)
    monkeypatch.setenv("MLOPS_WORKER_IDLE", "300")  # a leftover dies on its own
    started = _cli("worker", "start", "--json")
    assert started.returncode == 0, started.stderr
    status = json.loads(started.stdout)
    try:
        yield status
    finally:
        worker_client.stop_worker(status["key"])
        if process_alive(status["pid"]):
            os.kill(status["pid"], signal.SIGKILL)


def _runs(client: Any) -> list[Any]:
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids)) if ids else []


def _record(status: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(Path(status["socket"]).read_text()))


def _ask(port: int, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request line on a fresh connection; the worker's first answer line."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return dict(json.loads(reply))


def test_runs_go_through_a_worker_on_loopback_with_its_token(tcp_worker, store, client) -> None:  # type: ignore[no-untyped-def]
    status, key = tcp_worker, tcp_worker["key"]
    host, port = status["address"].rsplit(":", 1)
    assert host == "127.0.0.1"
    address_file = Path(status["socket"])
    assert address_file == endpoint_path(key) and address_file.suffix == ".tcp"
    assert address_file.stat().st_mode & 0o777 == 0o600
    assert address_file.parent.stat().st_mode & 0o777 == 0o700
    record = _record(status)
    assert record["port"] == int(port) and record["pid"] == status["pid"]
    assert len(record["token"]) == 64
    assert not socket_path(key).exists()  # no Unix socket on this branch
    listening = [
        c.laddr
        for c in psutil.Process(status["pid"]).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", int(port))]

    nb = write_notebook(
        store.root / "train.ipynb",
        [
            code("lr = 0.1\ndepth = 3", "parameters"),
            code("import jupyter_mlops as mlops\nmlops.log(acc=lr * depth)"),
        ],
    )
    done = _cli("run", str(nb), "-p", "depth", "2", "-q")
    assert done.returncode == 0, done.stderr
    (run,) = _runs(client)
    assert run.data.tags[EXECUTOR_TAG] == "worker"
    assert run.data.tags["mlops.pid"] == str(status["pid"])
    assert run.data.metrics["acc"] == pytest.approx(0.2)
    again = worker_client.worker_status(key)
    assert again is not None and again["runs_served"] == 1

    stopped = _cli("worker", "stop")
    assert stopped.returncode == 0 and f"stopped worker pid {status['pid']}" in stopped.stdout
    assert not process_alive(status["pid"]) and not address_file.exists()


def test_a_request_without_the_right_token_is_refused_and_runs_nothing(  # type: ignore[no-untyped-def]
    tcp_worker, store, client
) -> None:
    record = _record(tcp_worker)
    port, token = record["port"], record["token"]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    nb = write_notebook(store.root / "nb.ipynb", [code("x = 1")])
    run = {"op": "run", "protocol": PROTOCOL, "notebook": str(nb), "params": {}}
    run["env"] = dict(os.environ)
    for request in (
        {"op": "status", "protocol": PROTOCOL},
        {"op": "status", "protocol": PROTOCOL, "token": wrong},
        {"op": "status", "protocol": PROTOCOL, "token": 12},
        {"op": "stop", "protocol": PROTOCOL, "token": token[:32]},
        {**run, "token": wrong},
    ):
        reply = _ask(port, request)
        assert set(reply) == {"refused"}, (request["op"], reply)
    assert _runs(client) == []
    answer = _ask(port, {"op": "status", "protocol": PROTOCOL, "token": token})
    assert answer["status"]["pid"] == tcp_worker["pid"]  # the right token is served
    assert answer["status"]["runs_served"] == 0 and process_alive(tcp_worker["pid"])


def test_a_client_with_a_stale_token_runs_in_its_own_process(tcp_worker, store, client) -> None:  # type: ignore[no-untyped-def]
    address_file = Path(tcp_worker["socket"])
    record = _record(tcp_worker)
    address_file.write_text(json.dumps({**record, "token": "f" * 64}))
    assert worker_client.worker_status(tcp_worker["key"]) is None  # refused: no worker for it
    nb = write_notebook(
        store.root / "nb.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(acc=0.5)")]
    )
    done = _cli("run", str(nb), "-q")
    assert done.returncode == 0, done.stderr
    (run,) = _runs(client)
    assert EXECUTOR_TAG not in run.data.tags and run.data.metrics["acc"] == 0.5
    address_file.write_text(json.dumps(record))
    status = worker_client.worker_status(tcp_worker["key"])
    assert status is not None and status["runs_served"] == 0


def _other_user() -> tuple[int, int, str]:
    if os.geteuid() != 0:
        pytest.skip("acting as a second user needs root (CI runs as root)")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user on this machine")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 the second user can run")
    return nobody.pw_uid, nobody.pw_gid, python


def test_another_user_can_read_no_token_and_is_refused(tcp_worker) -> None:  # type: ignore[no-untyped-def]
    uid, gid, python = _other_user()
    address_file = Path(tcp_worker["socket"])
    probe = (
        "import json, socket, sys\n"
        "try:\n"
        f"    open({str(address_file)!r}).read(); print('read')\n"
        "except PermissionError:\n"
        "    print('unreadable')\n"
        f"s = socket.create_connection(('127.0.0.1', {_record(tcp_worker)['port']}), timeout=60)\n"
        f"s.sendall(json.dumps({{'op': 'stop', 'protocol': {PROTOCOL}}}).encode() + b'\\n')\n"
        "print(s.makefile().readline().strip())\n"
    )
    seen = subprocess.run(
        [python, "-c", probe], user=uid, group=gid, extra_groups=[], cwd="/",
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert seen.returncode == 0, seen.stderr
    said, reply = seen.stdout.splitlines()
    assert said == "unreadable"
    assert set(json.loads(reply)) == {"refused"}
    assert process_alive(tcp_worker["pid"])  # the stop it asked for was not obeyed
    assert worker_client.worker_status(tcp_worker["key"]) is not None
