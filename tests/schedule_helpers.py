"""Helpers of the schedule tests: a webhook receiver, a scheduler process and a schedule's runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from jupyter_mlops.testing.notebooks import code, write_notebook


@contextmanager
def webhook(fail_first: int = 0) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server recording JSON POSTs; the first ``fail_first`` get a 500."""
    received: list[dict[str, Any]] = []
    attempts = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            attempts[0] += 1
            failing = attempts[0] <= fail_first
            if not failing:
                received.append(body)
            self.send_response(500 if failing else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def schedule_runs(client: Any, name: str) -> list[Any]:
    """Every run tagged ``mlops.schedule=name``, in any experiment."""
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids, f"tags.`mlops.schedule` = '{name}'"))


def train_notebook(path: Any, fail: bool = False) -> Any:
    """A notebook with parameters ``x`` logging ``y = 2 x`` (raising at the end when ``fail``)."""
    cells = [
        code("x = 1", "parameters"),
        code("import jupyter_mlops as mlops\nmlops.log(y=x * 2)"),
    ]
    if fail:
        cells.append(code("raise ValueError('the data is late')"))
    return write_notebook(path, cells)


def scheduler_process(store: Any, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``jupyter mlops scheduler --poll 1`` in ``store``'s project, its output into ``log``.

    In its own session, so the test stops it and the kernels it started together.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_mlops", "scheduler", "--poll", "1"],
        cwd=store.root,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_schedulers(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """Ask each scheduler process to stop (SIGTERM), then end its session; their exit codes."""
    from jupyter_mlops.testing.processes import stop_group

    for proc in procs:
        proc.send_signal(15)
    codes = [proc.wait(60) for proc in procs]
    for proc in procs:
        stop_group(proc)
    return codes
