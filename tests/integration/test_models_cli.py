"""``jupyter mlops gate | models | serve``: exit codes, reports and ``--json`` for CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main

pytestmark = pytest.mark.integration


class Rule:
    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, X: Any) -> Any:
        return [int(row[0] > self.cut) for row in X]


def _version(name: str, **metrics: float) -> str:
    with mlops.start_run():
        mlops.log_metrics(metrics)
        return mlops.register_model(Rule(1.0), name).version


@pytest.fixture
def churn(store: Any) -> dict[str, str]:
    """churn v1 (acc 0.90) holds production; v2 (acc 0.95, f1 0.70) holds candidate."""
    v1 = _version("churn", accuracy=0.90, f1=0.85)
    mlops.promote("churn", v1, "production")
    v2 = _version("churn", accuracy=0.95, f1=0.70)
    mlops.promote("churn", v2, "candidate")
    return {"v1": v1, "v2": v2}


def _holder(client: Any, alias: str) -> str:
    return str(client.get_model_version_by_alias("churn", alias).version)


def test_gate_passes_and_promotes(churn: dict[str, str], client: Any, capsys: Any) -> None:
    argv = ["gate", "churn@candidate", "--require", "accuracy>=0.9", "--beat", "production"]
    code = main([*argv, "--on", "accuracy", "--promote", "production"])
    out = capsys.readouterr().out
    assert code == 0
    assert "all gates pass" in out and "production -> churn version 2" in out
    assert _holder(client, "production") == churn["v2"]
    assert list(mlops.history("churn")["result"])[-1] == "promoted"


def test_gate_failure_exits_1_and_keeps_alias(
    churn: dict[str, str], client: Any, capsys: Any
) -> None:
    code = main(["gate", "churn@candidate", "--require", "f1>=0.8", "--promote", "production"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAIL" in captured.out
    assert "f1 >= 0.8 (got 0.7 vs 0.8)" in captured.err
    assert _holder(client, "production") == churn["v1"]
    assert list(mlops.history("churn")["result"])[-1] == "refused"


def test_gate_json_report(churn: dict[str, str], capsys: Any) -> None:
    gates = ["--require", "accuracy>=0.9", "--require", "f1>=0.8"]
    code = main(["gate", "churn/2", *gates, "--json", "--beat", "production", "--on", "accuracy"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["model"] == "churn" and report["version"] == "2"
    assert report["passed"] is False and report["promoted_to"] is None
    assert [(c["check"], c["passed"]) for c in report["checks"]] == [
        ("accuracy >= 0.9", True),
        ("f1 >= 0.8", False),
        ("accuracy > accuracy@production", True),
    ]
    assert report["checks"][2]["threshold"] == 0.9


USAGE_ERRORS = [
    (["gate", "nope@production", "--require", "a>=1"], "no registered model named 'nope'"),
    (["gate", "churn@staging"], "no alias 'staging'"),
    (["gate", "churn/9"], "no version 9"),
    (["gate", "churn/1", "--require", "acc >> 3"], "cannot parse gate"),
    (["gate", "churn/1", "--require", "accuracy >="], "cannot parse gate"),
    (["gate", "churn/1", "--require", "accuracy >= high"], "not a number"),
    (["gate", "churn/1", "--require", "auc>=0.5"], "'auc' was not logged"),
    (["gate", "churn/1", "--beat", "production"], "--beat and --on go together"),
    (["gate", "churn/1", "--promote", "latest"], "bad alias"),
    (["gate", "churn/x"], "bad model reference"),
    (["models", "nope"], "no registered model named 'nope'"),
    (["serve", "churn@nope"], "no alias 'nope'"),
    (["serve", "churn/1", "--port", "0"], "--port must be 1-65535"),
]


def test_usage_errors_exit_2_in_one_line(churn: dict[str, str], client: Any, capsys: Any) -> None:
    before = len(mlops.history("churn"))
    for argv, fragment in USAGE_ERRORS:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert fragment in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err
    assert _holder(client, "production") == churn["v1"]
    assert len(mlops.history("churn")) == before


def test_models_lists_and_history_json(churn: dict[str, str], capsys: Any) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_version = {r["version"]: r for r in rows}
    assert by_version[1]["aliases"] == "production"
    assert by_version[2]["metrics.accuracy"] == 0.95
    assert main(["models", "churn", "--history", "--json"]) == 0
    trail = json.loads(capsys.readouterr().out)
    assert [(e["version"], e["alias"], e["result"]) for e in trail] == [
        ("1", "production", "promoted"),
        ("2", "candidate", "promoted"),
    ]
    assert main(["models", "churn"]) == 0
    assert "production" in capsys.readouterr().out


def test_serve_dry_run_resolves_the_alias(churn: dict[str, str], capsys: Any) -> None:
    import socket

    from jupyter_mlops.testing.processes import free_port

    port = free_port()
    assert main(["serve", "churn@production", "--port", str(port), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"serving churn version 1 at http://127.0.0.1:{port}/invocations" in out
    with socket.socket() as s:  # a dry run resolves and checks, and serves nothing
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_console_script_exit_codes(churn: dict[str, str], store: Any) -> None:
    exe = Path(sys.executable).with_name("jupyter-mlops")
    env = {**os.environ, "MLOPS_HOME": str(store.root)}

    def gate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), "gate", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert gate("churn@candidate", "--require", "accuracy>=0.9").returncode == 0
    failed = gate("churn@candidate", "--require", "f1>=0.8", "--json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["passed"] is False
    bad = gate("churn@candidate", "--require", "f1 >> 1")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("jupyter mlops gate: cannot parse gate")
