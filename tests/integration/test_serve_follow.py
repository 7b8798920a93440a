"""``jupyter mlops serve --follow-alias``: a promotion switches the version, no request fails."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.testing.processes import wait_until
from tests.serving import metrics, register_wine, score, serving, wine

pytestmark = pytest.mark.integration


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not seen within {seconds:.0f} s")
        time.sleep(0.1)


def test_promotion_switches_version_without_failed_requests(store: Any, tmp_path: Path) -> None:
    register_wine(n_estimators=5)
    second = register_wine(alias="candidate", n_estimators=10)
    X, _ = wine()
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def traffic(base: str) -> None:
        while not stop.is_set():
            status, _body, version = score(base, X.sample(5))
            answers.append((status, version))

    args = ["wine@production", "--follow-alias", "--monitor", "--interval", "0.3"]
    with serving(store.root, args, tmp_path / "serve.log") as base:
        client = threading.Thread(target=traffic, args=(base,))
        client.start()
        try:
            _wait_for(lambda: len(answers) >= 20, 120, "20 answers before the promotion")
            report = mlops.gate("wine@candidate", promote="production")
            assert report.promoted_to == "production"
            _wait_for(
                lambda: any(v == second for _, v in answers[-5:]), 120, f"version {second} serving"
            )
            seen = len(answers)
            _wait_for(lambda: len(answers) >= seen + 20, 120, "20 answers after the switch")
        finally:
            stop.set()
            client.join(timeout=60)
        m = metrics(base)
    assert {status for status, _ in answers} == {200}
    versions = [v for _, v in answers]
    assert versions[0] == "1" and versions[-1] == second
    switch = versions.index(second)
    assert set(versions[switch:]) == {second}, (
        "once switched, every answer comes from the new version"
    )
    assert m[f'mlops_model_version_info{{alias="production",model="wine",version="{second}"}}'] == 1
    assert not any(k.startswith("mlops_model_version_info") and 'version="1"' in k for k in m)
    assert "production moved: now serving wine version 2" in (tmp_path / "serve.log").read_text()


def test_following_to_a_version_without_snapshot_serves_it(store: Any, tmp_path: Path) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    register_wine(n_estimators=5)
    X, y = wine()
    clf = GradientBoostingClassifier(n_estimators=3, random_state=1).fit(X, y)
    with mlops.start_run():  # no snapshot: nothing to measure drift against of its own
        mlops.register_model(clf, "wine", example=X.head(), alias="candidate")
    args = ["wine@production", "--follow-alias", "--monitor", "--interval", "0.3"]
    with serving(store.root, args, tmp_path / "serve.log") as base:
        assert score(base, X.sample(5))[2] == "1"
        mlops.gate("wine@candidate", promote="production")
        wait_until(lambda: score(base, X.sample(5))[2] == "2", "the switch to version 2", 120)
        for start in range(0, 60, 20):
            score(base, X.sample(20, random_state=start))
        m = wait_until(
            lambda: (
                not math.isnan((mm := metrics(base)).get("mlops_drift_share_drifted", math.nan))
                and mm
            ),
            "drift against the previous version's snapshot",
            120,
        )
        assert m["mlops_drift_available"] == 1
    log = (tmp_path / "serve.log").read_text()
    assert (
        log.count("version 2 has no training snapshot: drift compares against version 1's "
                  "(wine-train@v1)") == 1
    )  # fmt: skip
    assert "production moved: now serving wine version 2" in log
    assert "monitoring:" not in log  # no error repeated every round
