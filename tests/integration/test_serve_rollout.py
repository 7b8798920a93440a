"""Shadow and canary on a real ``jupyter mlops serve``: promoted or rolled back on live evidence.

Real registered wine classifiers (a weak champion, a strong or a broken
challenger), real labels sent back, the promotion through the gate path and the
audit trail read back from the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow import MlflowClient

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.models.prediction_log import open_log
from jupyter_mlops.models.promote import audit_trail
from jupyter_mlops.testing.processes import wait_until
from tests.schedule_helpers import webhook
from tests.serving import metrics, post, register_wine, serving, split, wine

pytestmark = pytest.mark.integration


def _ask(base: str, rows: Any, ids: list[str]) -> tuple[int, Any, Any]:
    return post(base, "/invocations", split(rows, ids=ids))


def test_a_stronger_canary_is_promoted_through_the_gate_path(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    register_wine(n_estimators=1, max_depth=1)  # version 1, production: about 70 % right
    register_wine(alias="candidate")  # version 2: right on nearly every row
    X, y = wine()
    rule = "challenger.labels >= 15 and challenger.accuracy >= champion.accuracy + 0.05"
    args = ["wine@production", "--challenger", "candidate", "--mode", "canary"]
    args += ["--canary-share", "0.5", "--promote-when", rule, "--interval", "0.3"]
    with serving(store.root, args, tmp_path / "serve.log") as base:
        rows = X.sample(120, random_state=5)
        answered: dict[str, str] = {}
        for n, (index, row) in enumerate(rows.iterrows()):
            status, _, headers = _ask(base, row.to_frame().T, [f"q{index}"])
            assert status == 200
            answered[f"q{index}"] = headers["X-Mlops-Model-Version"]
            if n == 0:  # a retried request goes to the same version
                again = _ask(base, row.to_frame().T, [f"q{index}"])[2]
                assert again["X-Mlops-Model-Version"] == answered[f"q{index}"]
        shares = list(answered.values())
        assert 20 < shares.count("2") < 100 and shares.count("1") > 20
        assert str(client.get_model_version_by_alias("wine", "production").version) == "1"
        labels = [{"request_id": f"q{i}", "label": int(y.loc[i])} for i in rows.index]
        assert post(base, "/feedback", {"labels": labels})[0] == 200
        promoted = 'mlops_rollout_state{state="promoted",version="2"}'
        wait_until(lambda: metrics(base).get(promoted) == 1, "the promotion", 120)
        assert str(client.get_model_version_by_alias("wine", "production").version) == "2"
        for _ in range(10):  # served as champion now, no failed request
            status, _, headers = post(base, "/invocations", split(X.sample(3)))
            assert status == 200 and headers["X-Mlops-Model-Version"] == "2"
            assert headers["X-Mlops-Role"] == "champion"
        m = metrics(base)
    assert m['mlops_model_version_info{alias="production",model="wine",version="2"}'] == 1
    (entry,) = [e for e in audit_trail(client, "wine") if e["action"] == "live canary"]
    assert entry["result"] == "promoted" and entry["from_version"] == "1"
    assert entry["reason"].startswith(f"promoted by live canary: {rule} (challenger.labels=")
    assert "champion.accuracy=" in entry["reason"]
    assert "production -> wine version 2" in (tmp_path / "serve.log").read_text()


def test_a_failing_canary_is_rolled_back_once_and_alerts(
    store: Any, client: MlflowClient, tmp_path: Path
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    register_wine()
    X, y = wine()
    renamed = X.add_prefix("f_")  # a challenger expecting other columns: every answer fails
    clf = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(renamed, y)
    with mlops.start_run():
        mlops.register_model(clf, "wine", example=renamed.head(), alias="candidate")
    rule = "challenger.error_rate > 0.02"
    args = ["wine@production", "--challenger", "candidate", "--mode", "canary"]
    args += ["--canary-share", "0.5", "--rollback-when", rule, "--interval", "0.3"]
    with webhook() as (url, received):
        args += ["--webhook", url]
        with serving(store.root, args, tmp_path / "serve.log") as base:
            statuses = [_ask(base, X.iloc[[i]], [f"a{i}"])[0] for i in range(20)]
            assert 400 in statuses and 200 in statuses
            wait_until(lambda: received, "the rollback alert", 120)
            after = [_ask(base, X.iloc[[i]], [f"a{i}"]) for i in range(20)]
            assert {s for s, _, _ in after} == {200}
            assert {h["X-Mlops-Model-Version"] for _, _, h in after} == {"1"}
            m = metrics(base)
    assert len(received) == 1 and received[0]["version"] == "2"
    assert received[0]["expression"] == f"rollback-when {rule}"
    assert m['mlops_rollout_state{state="rolled_back",version="2"}'] == 1
    assert str(client.get_model_version_by_alias("wine", "production").version) == "1"
    (entry,) = [e for e in audit_trail(client, "wine") if e["action"] == "rollback"]
    assert entry["version"] == "2" and entry["reason"].startswith(
        f"rolled back by live canary: {rule} (challenger.error_rate="
    )


def test_shadow_never_returns_the_challengers_answer(store: Any, tmp_path: Path) -> None:
    register_wine(n_estimators=1, max_depth=1)
    register_wine(alias="candidate")
    X, _ = wine()
    weak = mlops.load_model("wine/1").predict(X)
    strong = mlops.load_model("wine/2").predict(X)
    assert (weak != strong).any()
    args = ["wine@production", "--challenger", "candidate", "--mode", "shadow"]
    ids = []
    with serving(store.root, [*args, "--interval", "0.3"], tmp_path / "serve.log") as base:
        for start in range(0, len(X), 30):
            rows = X.iloc[start : start + 30]
            status, body, headers = post(base, "/invocations", split(rows))
            assert status == 200 and headers["X-Mlops-Model-Version"] == "1"
            np.testing.assert_array_equal(body["predictions"], weak[start : start + 30])
            ids += headers["X-Request-Id"].split(",")
        shadow_key = 'mlops_rows_scored_total{role="challenger",version="2"}'
        wait_until(lambda: metrics(base).get(shadow_key) == len(X), "the shadow scores", 120)
    log = open_log("wine").predictions(ids)
    champion = log[log["role"] == "champion"].set_index("id").loc[ids]
    challenger = log[log["role"] == "challenger"].set_index("id").loc[ids]
    np.testing.assert_array_equal(champion["prediction"], weak)
    np.testing.assert_array_equal(challenger["prediction"], strong)
    assert set(challenger["version"]) == {"2"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--promote-when", "challenger.acuracy > 0.9"], "unknown word 'acuracy'"),
        (["--rollback-when", "open('x')"], "uses call"),
        (["--mode", "both"], "invalid choice"),
        (["--canary-share", "1.5"], "--canary-share must be in (0, 1]"),
    ],
)
def test_bad_rollout_options_exit_2_before_loading(
    store: Any, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base = ["serve", "nothing@production", "--challenger", "candidate", "--mode", "canary"]
    with pytest.raises(SystemExit) if "invalid choice" in message else _nothing():
        assert main([*base, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "nothing" not in err.split(message)[0][-5:]
    if "unknown word" in message:
        assert "valid: champion.labels, champion.accuracy" in err and err.count("\n") == 0


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False
