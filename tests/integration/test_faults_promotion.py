"""Two users promoting the same alias at the same moment, from two processes.

Both promotions pass their gate; one of them ends up holding the alias, both
attempts are in the audit trail under their own user, and the registry stays
consistent (one version holds the alias wherever it is read from).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.models.promote import audit_trail

pytestmark = pytest.mark.integration
MODEL = "churn"

_PROMOTER = """
import sys, time
from pathlib import Path
import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

version, go = sys.argv[1], Path(sys.argv[2])
api.tracker().client.search_registered_models(max_results=1)  # connected before the start line
Path(sys.argv[3]).write_text("ready")
while not go.exists():
    time.sleep(0.005)
report = mlops.promote("churn", version, "production", require="accuracy>=0.8")
print(report.promoted_to)
"""


def _version(client: Any, accuracy: float) -> str:
    """A model version whose source run has ``accuracy`` (set up straight through MLflow)."""
    with mlops.start_run(name=f"acc-{accuracy}") as run:
        mlops.log(accuracy=accuracy)
    if not client.search_registered_models(f"name = '{MODEL}'"):
        client.create_registered_model(MODEL)
    artifacts = client.get_run(run.run_id).info.artifact_uri
    version = client.create_model_version(MODEL, f"{artifacts}/model", run.run_id)
    return str(version.version)


def _spawn(user: str, version: str, tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    ready = tmp / f"ready-{user}"
    env = {**os.environ, "USER": user, "LOGNAME": user}
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROMOTER, version, str(tmp / "go"), str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, ready


def _wait_ready(files: list[Path], procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 180
    while not all(f.exists() for f in files):
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"promoter exited early: {p.communicate()}")
        assert time.monotonic() < deadline, "promoters did not start"
        time.sleep(0.05)


@pytest.mark.parametrize("round_", [1, 2])
def test_two_users_promote_one_alias_at_once(
    store: Any, client: Any, tmp_path: Path, round_: int
) -> None:
    versions = [_version(client, 0.9), _version(client, 0.95)]
    if round_ == 2:  # the alias already exists: the race is on updating it, not creating it
        mlops.promote(MODEL, versions[0], "production", require="accuracy>=0.8")
        versions = [_version(client, 0.91), _version(client, 0.96)]
    before = len(mlops.history("churn"))

    runs = [_spawn(user, v, tmp_path) for user, v in zip(("alice", "bob"), versions, strict=True)]
    _wait_ready([ready for _, ready in runs], [p for p, _ in runs])
    (tmp_path / "go").write_text("go")
    outcomes = [p.communicate(timeout=180) for p, _ in runs]

    for (proc, _), (out, err) in zip(runs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "production"
    holder = client.get_model_version_by_alias("churn", "production")
    assert str(holder.version) in versions  # one of the two won

    trail = mlops.history("churn")
    new = trail.iloc[before:]
    assert len(new) == 2
    assert sorted(new["user"]) == ["alice", "bob"]
    assert sorted(new["version"].astype(str)) == sorted(versions)
    assert set(new["result"]) == {"promoted"}

    # consistent registry: one holder of the alias, it loads and predicts
    aliases = client.get_registered_model(MODEL).aliases
    assert {a: str(v) for a, v in aliases.items()} == {"production": str(holder.version)}
    listed = mlops.models(MODEL)
    with_alias = listed[listed["aliases"].astype(str).str.contains("production")]
    assert list(with_alias["version"].astype(str)) == [str(holder.version)]


_GATE = """
import sys, time
from pathlib import Path
from jupyter_mlops.cli import main
from jupyter_mlops.tracking import api

version, go = sys.argv[1], Path(sys.argv[2])
api.tracker().client.search_registered_models(max_results=1)  # connected before the start line
Path(sys.argv[3]).write_text("ready")
while not go.exists():
    time.sleep(0.005)
sys.exit(main(["gate", f"churn/{version}", "--beat", "production", "--on", "accuracy",
               "--promote", "production"]))
"""


def test_racing_beat_promotions_leave_the_best_version_holding_the_alias(
    store: Any, client: Any, tmp_path: Path
) -> None:
    """Four CI jobs run `jupyter mlops gate churn/V --beat production --promote production`."""
    holder = _version(client, 0.5)
    mlops.promote(MODEL, holder, "production")
    scores = {_version(client, acc): acc for acc in (0.7, 0.9, 0.6, 0.8)}
    procs, ready = [], []
    for i, version in enumerate(scores):
        env = {**os.environ, "USER": f"ci{i}", "LOGNAME": f"ci{i}"}
        marker = tmp_path / f"ready-{i}"
        argv = [sys.executable, "-c", _GATE, version, str(tmp_path / "go"), str(marker)]
        procs.append(subprocess.Popen(argv, env=env, text=True, stderr=subprocess.PIPE))
        ready.append(marker)
    _wait_ready(ready, procs)
    (tmp_path / "go").write_text("go")
    codes = [p.wait(timeout=300) for p in procs]
    assert set(codes) <= {0, 1}, [p.stderr.read() for p in procs if p.stderr]
    best = max(scores, key=scores.__getitem__)
    assert str(client.get_registered_model(MODEL).aliases["production"]) == best
    # Compare-and-set: every move replaced a worse holder than the version it put there.
    acc = {holder: 0.5, **scores}
    moves = [e for e in audit_trail(client, MODEL) if e["result"] == "promoted"][1:]
    assert moves and all(acc[m["version"]] > acc[m["from_version"]] for m in moves)
