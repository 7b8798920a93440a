"""Model cards from lineage, on a model trained by a real notebook run headless; slice metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.linear_model import LogisticRegression

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.testing.notebooks import code, params, write_notebook

pytestmark = pytest.mark.integration

CARD_CELL = """Churn model for the retention team.

## Intended use
Rank customers by churn risk for <b>retention</b> calls.

## Limitations
Trained on EU customers only.
"""

TRAIN = """import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
import jupyter_mlops as mlops

df = mlops.load("customers")
X, y = df[["tenure", "spend", "region_code"]], df["churned"]
clf = LogisticRegression(C=C, max_iter=500).fit(X, y)
mlops.log(train_accuracy=float(clf.score(X, y)))
ev = mlops.evaluate(clf, X, y, slice_by=["region_code"])
caveat = "Scores drift <script>alert(1)</script> after pricing changes."
mlops.register_model(clf, "churn", data="customers", alias="candidate", card={"caveats": caveat})
"""


def _customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 60, n)
    spend = rng.normal(50, 15, n).round(2)
    region = rng.integers(0, 3, n)
    churned = ((tenure < 12) ^ (rng.random(n) < 0.15 + 0.1 * region)).astype(int)
    return pd.DataFrame(
        {"tenure": tenure, "spend": spend, "region_code": region, "churned": churned}
    )


def test_slice_metrics_equal_scikit_learns_on_each_slice(store, client) -> None:  # type: ignore[no-untyped-def]
    df = _customers()
    X, y = df[["tenure", "spend", "region_code"]], df["churned"]
    clf = LogisticRegression(max_iter=500).fit(X, y)
    band = pd.Series(np.where(df["tenure"] < 24, "new", "loyal"), name="tenure_band")
    with mlops.start_run(name="eval") as run:
        ev = mlops.evaluate(clf, X, y, slice_by=["region_code", band])
    mlops.flush()
    pred = clf.predict(X)
    assert ev.task == "classification"
    assert ev.metrics["accuracy"] == metrics.accuracy_score(y, pred)
    for row in ev.slices:
        values = X["region_code"] if row["column"] == "region_code" else band
        mask = (values == row["value"]).to_numpy()
        assert row["rows"] == int(mask.sum())
        assert row["accuracy"] == metrics.accuracy_score(y[mask], pred[mask])
        assert row["f1"] == metrics.f1_score(y[mask], pred[mask], average="macro")
        assert row["recall"] == metrics.recall_score(y[mask], pred[mask], average="macro")
    regions = [r for r in ev.slices if r["column"] == "region_code"]
    assert {r["value"] for r in regions} == {0, 1, 2}
    accs = [r["accuracy"] for r in regions]
    assert ev.gaps["region_code"]["accuracy"] == pytest.approx(max(accs) - min(accs))
    logged = client.get_run(run.run_id).data.metrics
    assert logged["eval.region_code.1.accuracy"] == regions[1]["accuracy"]
    assert logged["eval.tenure_band.gap.f1"] == pytest.approx(ev.gaps["tenure_band"]["f1"])
    saved = json.loads(
        Path(client.download_artifacts(run.run_id, "evaluation/slices.json")).read_text()
    )
    assert saved["gaps"] == json.loads(json.dumps(ev.gaps))

    reg = mlops.evaluate(
        type("Mean", (), {"predict": lambda self, X: np.full(len(X), 50.0)})(),
        X, df["spend"], slice_by=["region_code"], log=False,
    )  # fmt: skip
    assert reg.task == "regression"
    for row in reg.slices:
        mask = (X["region_code"] == row["value"]).to_numpy()
        assert row["mae"] == metrics.mean_absolute_error(
            df["spend"][mask], np.full(mask.sum(), 50.0)
        )
    with pytest.raises(InvalidInput, match="no column 'nope' to slice by; X has: tenure"):
        mlops.evaluate(clf, X, y, slice_by=["nope"], log=False)


def _md_files(client, name: str, version: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    mv = client.get_model_version(name, version)
    model_id = mv.tags["mlops.lineage.model_id"]
    files = {a.path for a in client.list_logged_model_artifacts(model_id)}
    assert {"model_card.md", "model_card.html", "MLmodel"} <= files
    from mlflow.artifacts import download_artifacts

    base = client.get_logged_model(model_id).artifact_location
    md = Path(download_artifacts(artifact_uri=f"{base}/model_card.md")).read_text()
    html = Path(download_artifacts(artifact_uri=f"{base}/model_card.html")).read_text()
    return md, html


def test_card_from_lineage_is_stored_at_registration_and_promotion(
    store, client, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    import yaml

    mlops.snapshot(_customers(), "customers")
    nb = write_notebook(
        store.root / "train.ipynb",
        [params("C = 1.0"), ("markdown", CARD_CELL, ["model-card"]), code(TRAIN)],
    )
    result = mlops.run_notebook(nb, {"C": 0.5}, experiment="churn")
    assert result.status == "FINISHED", result.error

    md, html = _md_files(client, "churn", "1")
    front, body = md.split("---\n", 2)[1:]
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "sklearn" and meta["datasets"] == ["customers@v1"]
    values = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    run = client.get_run(result.run_id)
    assert values["train_accuracy"] == run.data.metrics["train_accuracy"]
    assert values["accuracy"] == run.data.metrics["eval.accuracy"]
    # lineage: the run, its params, the snapshot's schema, the slices, the dependencies
    assert result.run_id in body and "| C | 0.5 |" in body
    assert "### customers@v1 (training)" in body and "| tenure |" in body
    assert "### Metrics per slice" in body and "| region_code | 2 |" in body
    assert "- `scikit-learn==" in body and "Signature inputs:" in body
    # the written sections: from the notebook's cell and from register_model(card=...)
    assert "## Intended use\n\nRank customers by churn risk" in body
    assert "## Limitations\n\nTrained on EU customers only." in body
    assert "## Caveats\n\nScores drift" in body
    assert "## Ethical considerations\n\n_Not written yet" in body
    assert "| register | candidate | promoted |" in body
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>retention" not in html

    # Served predictions with labels: the live accuracy of version 1 joins the card.
    from jupyter_mlops.models.prediction_log import new_ids, open_log

    log = open_log("churn")
    ids = new_ids(4)
    rows = _customers(4)[["tenure", "spend", "region_code"]]
    log.append("1", "champion", ids, rows, [0, 1, 1, 0])
    log.add_labels(ids, [0, 1, 0, 0])
    log.close()

    # A promotion regenerates the card: its history grows, the written sections stay.
    mlops.promote("churn", 1, "production", require="eval.accuracy>=0.5")
    md2, _ = _md_files(client, "churn", "1")
    assert "| promote | production | promoted |" in md2 and "eval.accuracy >= 0.5 pass" in md2
    for kept in ("Rank customers by churn risk", "Trained on EU customers only.", "Scores drift"):
        assert kept in md2
    assert "Aliases | candidate, production" in md2
    assert "Live performance (labelled predictions):" in md2 and "| champion | 4 | 0.75 |" in md2

    # The CLI prints the card of an alias, or writes it.
    assert main(["models", "card", "churn@production", "-o", str(tmp_path / "card.md")]) == 0
    assert (tmp_path / "card.md").read_text() == mlops.model_card("churn@production").markdown
    assert main(["models", "card", "churn@production", "--html"]) == 0
    assert capsys.readouterr().out.lstrip().startswith(("wrote", "<!DOCTYPE html>"))
    assert main(["models", "card"]) == 2
    assert main(["models", "card", "nope@production"]) == 2
