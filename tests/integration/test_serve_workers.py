"""``jupyter mlops serve --workers 2`` on 127.0.0.1: two processes, one set of books.

Requests are sent concurrently until both workers answered some; ``/metrics`` (from
whichever worker answers the scrape) must count every request exactly once, the shared
prediction log must hold every row once, a canary must be promoted by exactly one
decision, which both workers then follow, and an alias moved while requests keep coming
must be followed by both workers without a failed request.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.models.prediction_log import open_log
from jupyter_mlops.models.promote import audit_trail
from jupyter_mlops.testing.processes import wait_until
from tests.serving import metrics, post, register_wine, serving, split, wine

pytestmark = pytest.mark.integration


def _worker_requests(folder: Path, scratch: Path, version: str | None = None) -> dict[str, float]:
    """Requests counted by each worker (answered by ``version``, else by any): its own counter
    file read alone by the official reader."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    out = {}
    for file in folder.glob("counter_*.db"):
        alone = scratch / file.stem
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        out[file.stem] = sum(
            s.value
            for f in registry.collect()
            for s in f.samples
            if s.name == "mlops_requests_total" and version in (None, s.labels["version"])
        )
    return out


def _burst(base: str, rows: Any, prefix: str, n: int = 24) -> list[tuple[int, Any]]:
    """``n`` one-row requests on 8 connections at once (each on a new connection)."""

    def one(i: int) -> tuple[int, Any]:
        status, _, headers = post(
            base, "/invocations", split(rows.iloc[[i % len(rows)]], ids=[f"{prefix}-{i}"])
        )
        return status, headers

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _total(m: dict[str, float]) -> float:
    return sum(v for k, v in m.items() if k.startswith("mlops_requests_total{"))


def test_two_workers_count_every_request_once(store: Any, tmp_path: Path) -> None:
    register_wine()
    X, _ = wine()
    temp = tmp_path / "tmp"
    temp.mkdir()
    args = ["wine@production", "--workers", "2", "--interval", "0.3"]
    log_file = tmp_path / "serve.log"
    with serving(store.root, args, log_file, env={"TMPDIR": str(temp)}) as base:
        (folder,) = temp.glob("mlops-serve-metrics-*")
        sent = 0

        def both_answered() -> dict[str, float] | None:
            nonlocal sent
            statuses = [s for s, _ in _burst(base, X, f"b{sent}")]
            assert set(statuses) == {200}
            sent += len(statuses)
            per = _worker_requests(folder, tmp_path / "alone")
            busy = {pid: n for pid, n in per.items() if n}  # the parent's file counts nothing
            assert len(busy) <= 2
            return busy if len(busy) == 2 else None

        per_worker = wait_until(both_answered, "requests answered by both workers", 120)
        assert sum(per_worker.values()) == sent
        scrapes = [_total(metrics(base)) for _ in range(6)]  # answered by either worker
        assert scrapes == [sent] * 6
        memory = {
            k: v for k, v in metrics(base).items()
            if k.startswith("mlops_process_resident_memory_bytes{")
        }  # fmt: skip
        # one series per process: the two workers and the parent running the background loop
        assert len(memory) == 3 and all(v > 1_000_000 for v in memory.values())
        workers = {f'mlops_process_resident_memory_bytes{{pid="{p.split("_")[1]}"}}'
                   for p in per_worker}  # fmt: skip
        assert workers < set(memory)
        log = open_log("wine")
        wait_until(lambda: log.rows() == sent, f"{sent} rows in the prediction log", 60)
        assert log.predictions()["id"].is_unique
    assert "(2 workers)" in log_file.read_text()
    assert not folder.exists()  # the server's metrics folder goes with it


def test_two_workers_promote_a_canary_by_one_decision(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    register_wine(n_estimators=1, max_depth=1)
    register_wine(alias="candidate")
    X, _ = wine()
    rule = "challenger.requests >= 10"
    args = ["wine@production", "--challenger", "candidate", "--mode", "canary"]
    args += ["--canary-share", "0.5", "--promote-when", rule, "--interval", "0.3"]
    args += ["--workers", "2"]
    log_file = tmp_path / "serve.log"
    with serving(store.root, args, log_file) as base:
        answered = Counter(h["X-Mlops-Model-Version"] for _, h in _burst(base, X, "c", 60))
        assert answered["1"] and answered["2"]
        promoted = 'mlops_rollout_state{state="promoted",version="2"}'
        wait_until(lambda: metrics(base).get(promoted) == 1, "the promotion", 120)

        def all_on_two() -> bool:
            burst = _burst(base, X, "after")
            return all(h["X-Mlops-Model-Version"] == "2" for _, h in burst)

        wait_until(all_on_two, "every worker answering with version 2", 60)
        burst = _burst(base, X, "last", 40)
        assert {(s, h["X-Mlops-Model-Version"], h["X-Mlops-Role"]) for s, h in burst} == {
            (200, "2", "champion")
        }
        m = metrics(base)
    assert m['mlops_model_version_info{alias="production",model="wine",version="2"}'] == 1
    assert str(client.get_model_version_by_alias("wine", "production").version) == "2"
    entries = [e for e in audit_trail(client, "wine") if e["action"] == "live canary"]
    assert [e["result"] for e in entries] == ["promoted"]
    text = log_file.read_text()
    assert text.count("production -> wine version 2") == 1 and "not moved" not in text


def test_two_workers_follow_the_alias_without_a_failed_request(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    register_wine(n_estimators=5)
    second = register_wine(alias="candidate", n_estimators=10)
    X, _ = wine()
    temp = tmp_path / "tmp"
    temp.mkdir()
    args = ["wine@production", "--workers", "2", "--follow-alias", "--monitor"]
    args += ["--interval", "0.3"]
    log_file = tmp_path / "serve.log"
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def traffic(base: str) -> None:  # bursts on new connections: both workers answer
        while not stop.is_set():
            burst = _burst(base, X, f"t{len(answers)}", 8)
            answers.extend((s, h["X-Mlops-Model-Version"]) for s, h in burst)

    with serving(store.root, args, log_file, env={"TMPDIR": str(temp)}) as base:
        (folder,) = temp.glob("mlops-serve-metrics-*")
        sender = threading.Thread(target=traffic, args=(base,))
        sender.start()
        try:
            wait_until(lambda: len(answers) >= 40, "40 answers before the alias moves", 120)
            assert mlops.gate("wine@candidate", promote="production").promoted_to == "production"

            def both_on_second() -> bool:
                per = _worker_requests(folder, tmp_path / "alone", version=second)
                return len([n for n in per.values() if n]) == 2

            wait_until(both_on_second, f"both workers answering with version {second}", 120)
            seen = len(answers)
            wait_until(lambda: len(answers) >= seen + 40, "40 answers after the switch", 120)
        finally:
            stop.set()
            sender.join(timeout=60)
        burst = _burst(base, X, "last", 40)
        m = metrics(base)
    assert {status for status, _ in answers} == {200}  # no request failed on the way
    assert answers[0][1] == "1" and answers[-1][1] == second
    assert {(s, h["X-Mlops-Model-Version"]) for s, h in burst} == {(200, second)}
    assert m[f'mlops_model_version_info{{alias="production",model="wine",version="{second}"}}'] == 1
    # a multiprocess file keeps a removed series, at 0
    assert m.get('mlops_model_version_info{alias="production",model="wine",version="1"}', 0) == 0
    text = log_file.read_text()
    assert text.count(f"production moved: now serving wine version {second}") == 1
    assert "worker:" not in text and "monitoring:" not in text


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (["--workers", "0"], {}, "--workers must be at least 1"),
        (["--workers", "2", "--no-log"], {}, "drop --no-log"),
        (["--workers", "2"], {"MLOPS_TEST_NON_POSIX": "1"}, "needs POSIX"),
        (
            [],
            {"MLOPS_SERVE_WORKERS": "many"},
            "MLOPS_SERVE_WORKERS must be a whole number >= 1, got 'many'",
        ),
    ],
)
def test_bad_worker_options_exit_2_with_one_line(
    store: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["serve", "wine@production", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.mark.parametrize(
    ("extra", "env", "workers"),
    [
        ([], {}, _cores()),  # one per core
        ([], {"MLOPS_SERVE_WORKERS": "3"}, 3),
        (["--workers", "1"], {}, 1),
        (["--no-log"], {}, 1),  # window and labels in memory: one process
        (["--monitor", "--follow-alias"], {}, _cores()),  # the workers follow the parent
        ([], {"MLOPS_TEST_NON_POSIX": "1"}, 1),  # no fork
    ],
)
def test_serve_runs_one_worker_per_core_unless_they_cannot_share_the_books(
    store: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    env: dict[str, str],
    workers: int,
) -> None:
    register_wine()
    monkeypatch.delenv("MLOPS_SERVE_WORKERS", raising=False)  # the test suite pins 1
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["serve", "wine@production", *extra, "--dry-run"]) == 0
    banner = capsys.readouterr().out
    assert banner.startswith("serving wine version 1 at http://127.0.0.1:")
    assert (f"({workers} workers)" in banner) == (workers > 1), banner
