"""Register → lineage → load → same predictions; gates, aliases and the audit trail.

Real SQLite store, real scikit-learn models on a bundled dataset.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.models.gates import PromotionRefused
from jupyter_mlops.tracking import api as tracking

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def iris() -> dict[str, Any]:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True, as_frame=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0, stratify=y)
    return {"Xtr": Xtr, "Xte": Xte, "ytr": ytr, "yte": yte}


def _pipeline(iris: dict[str, Any], C: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500)).fit(
        iris["Xtr"], iris["ytr"]
    )


class Threshold:
    """A hand-written model: anything with predict() can be registered."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, X: Any) -> Any:
        return (X["petal length (cm)"] > self.cut).astype(int).to_numpy()


def _version_with(iris: dict[str, Any], name: str, **metrics: float) -> str:
    """Train in its own run, log ``metrics``, register; return the version."""
    with mlops.start_run(name=f"{name}-{len(metrics)}"):
        mlops.log_metrics(metrics)
        v = mlops.register_model(_pipeline(iris), name, example=iris["Xtr"])
    return v.version


def test_register_tags_lineage_and_loads_identical_predictions(
    store: Any, client: Any, iris: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.data

    root = store.root
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "c"],
        cwd=root,
        check=True,
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    notebook = root / "train.ipynb"
    notebook.write_text("{}")
    monkeypatch.setenv("MLOPS_NOTEBOOK_PATH", str(notebook))

    clf = _pipeline(iris)
    run = mlops.start_run(name="train")
    dataset = mlflow.data.from_pandas(iris["Xtr"], name="train")
    client.log_inputs(run.run_id, datasets=[mlflow.data.DatasetInput(dataset._to_mlflow_entity())])
    mlops.log(accuracy=float(clf.score(iris["Xte"], iris["yte"])))
    cell = "mlops.register_model(clf, 'churn')"
    tracking.tracker().cell_source = cell
    v = mlops.register_model(clf, "churn", example=iris["Xtr"], description="first")
    mlops.end_run()

    assert (v.name, v.version, v.run_id, v.flavor) == ("churn", "1", run.run_id, "sklearn")
    tags = client.get_model_version("churn", "1").tags
    assert tags["mlops.lineage.run_id"] == run.run_id
    assert tags["mlops.lineage.git_commit"] == head
    assert tags["mlops.lineage.notebook"] == str(notebook)
    import hashlib

    assert tags["mlops.lineage.cell_sha256"] == hashlib.sha256(cell.encode()).hexdigest()
    snaps = json.loads(tags["mlops.lineage.snapshots"])
    assert [(s["name"], s["digest"]) for s in snaps] == [("train", dataset.digest)]
    assert client.get_model_version("churn", "1").description == "first"

    for ref in ("churn", "churn/1"):
        loaded = mlops.load_model(ref)
        assert type(loaded) is type(clf)
        np.testing.assert_array_equal(loaded.predict(iris["Xte"]), clf.predict(iris["Xte"]))
        np.testing.assert_array_equal(
            loaded.predict_proba(iris["Xte"]), clf.predict_proba(iris["Xte"])
        )
    pyfunc = mlops.load_model("churn/1", kind="pyfunc")
    np.testing.assert_array_equal(pyfunc.predict(iris["Xte"]), clf.predict(iris["Xte"]))
    # signature and example come from the example rows
    assert [c.name for c in pyfunc.metadata.get_input_schema().inputs] == list(iris["Xtr"].columns)
    assert pyfunc.metadata.saved_input_example_info is not None
    # MLflow itself sees the version under its run, with the LoggedModel linked
    logged = client.get_logged_model(tags["mlops.lineage.model_id"])
    assert logged.source_run_id == run.run_id
    links = json.loads(logged.tags["mlflow.modelVersions"])
    assert [(e["name"], str(e["version"])) for e in links] == [("churn", "1")]
    assert client.get_run(run.run_id).outputs.model_outputs[0].model_id == logged.model_id


def test_generic_object_is_a_pyfunc_and_loads_back(store: Any, iris: dict[str, Any]) -> None:
    model = Threshold(4.0)
    v = mlops.register_model(model, "rule", example=iris["Xtr"], alias="candidate")
    assert v.flavor == "pyfunc" and v.alias == "candidate"
    native = mlops.load_model("rule@candidate")
    assert isinstance(native, Threshold) and native.cut == 4.0
    np.testing.assert_array_equal(native.predict(iris["Xte"]), model.predict(iris["Xte"]))
    pyfunc = mlops.load_model("rule@candidate", kind="pyfunc")
    np.testing.assert_array_equal(
        np.asarray(pyfunc.predict(iris["Xte"])), model.predict(iris["Xte"])
    )


def test_register_starts_a_run_when_none_is_active(store: Any, client: Any) -> None:
    from sklearn.dummy import DummyClassifier

    assert mlops.active_run() is None
    v = mlops.register_model(DummyClassifier().fit([[0], [1]], [0, 1]), "dummy")
    assert mlops.active_run() is not None
    assert mlops.active_run().run_id == v.run_id  # type: ignore[union-attr]
    assert client.get_model_version("dummy", "1").run_id == v.run_id


def _nothing_registered(client: Any) -> bool:
    return not client.search_registered_models() and not client.search_model_versions()


def test_bad_input_registers_nothing(store: Any, client: Any, iris: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="has no predict"):
        mlops.register_model(object(), "broken")
    with pytest.raises(InvalidInput, match="bad model name"):
        mlops.register_model(Threshold(1.0), "a/b")
    with pytest.raises(InvalidInput, match="bad alias"):
        mlops.register_model(Threshold(1.0), "ok", alias="v2")
    with pytest.raises(InvalidInput, match="predict failed on the input example"):
        mlops.register_model(
            Threshold(1.0), "ok", example=iris["Xtr"].drop(columns="petal length (cm)")
        )
    fitted = _pipeline(iris)
    with pytest.raises(InvalidInput, match="lacks column"):
        mlops.register_model(fitted, "ok", example=iris["Xtr"].iloc[:, :2])
    assert _nothing_registered(client)
    assert mlops.active_run() is None  # no run was started for a refused call


def test_unknown_model_alias_version_are_one_line_errors(store: Any) -> None:
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        mlops.load_model("nope@production")
    mlops.register_model(Threshold(1.0), "rule")
    with pytest.raises(NotFound, match=r"no alias 'production' \(aliases: none yet\)"):
        mlops.load_model("rule@production")
    with pytest.raises(NotFound, match="no version 7"):
        mlops.load_model("rule/7")
    with pytest.raises(InvalidInput, match="bad model reference"):
        mlops.load_model("rule/x")


def test_promote_gates_move_alias_only_when_all_pass(
    store: Any, client: Any, iris: dict[str, Any]
) -> None:
    v1 = _version_with(iris, "churn", accuracy=0.90, f1=0.85)
    v2 = _version_with(iris, "churn", accuracy=0.95, f1=0.70)
    v3 = _version_with(iris, "churn", accuracy=0.93, f1=0.90)

    report = mlops.promote(
        "churn", v1, "production", require="accuracy>=0.9", beat="production", on="accuracy"
    )
    assert report.passed and report.promoted_to == "production" and report.previous is None
    assert str(client.get_model_version_by_alias("churn", "production").version) == v1

    # v2 beats v1 on accuracy but fails f1: refused, alias stays on v1, error names the gate
    with pytest.raises(PromotionRefused) as info:
        mlops.promote("churn", v2, "production", require=["accuracy>=0.9", "f1>=0.8"],
                      beat="production", on="accuracy")  # fmt: skip
    assert "f1 >= 0.8 (got 0.7 vs 0.8)" in str(info.value)
    assert "stays on version 1" in str(info.value)
    assert [c.check for c in info.value.report.failures] == ["f1 >= 0.8"]
    assert str(client.get_model_version_by_alias("churn", "production").version) == v1

    # v3 passes thresholds and beats the holder (v1): alias moves
    report = mlops.promote("churn", v3, "production", require=["accuracy>=0.9", "f1>=0.8"],
                           beat="production", on="accuracy")  # fmt: skip
    assert report.passed and report.previous == v1
    assert str(client.get_model_version_by_alias("churn", "production").version) == v3

    # v2 now fails --beat against v3? no: 0.95 > 0.93 beats; with lower-is-better it does not
    report = mlops.gate("churn/2", beat="production", on="accuracy", lower_is_better=True)
    assert not report.passed and report.failures[0].threshold == 0.93
    report = mlops.gate("churn/2", beat="production", on="accuracy")
    assert report.passed
    assert (
        str(client.get_model_version_by_alias("churn", "production").version) == v3
    )  # gate alone moves nothing


def test_missing_metric_or_bad_gate_moves_nothing_and_records_nothing(
    store: Any, client: Any, iris: dict[str, Any]
) -> None:
    v1 = _version_with(iris, "churn", accuracy=0.9)
    mlops.promote("churn", v1, "production")
    v2 = _version_with(iris, "churn", accuracy=0.99)
    before = len(mlops.history("churn"))
    with pytest.raises(NotFound, match="'auc' was not logged"):
        mlops.promote("churn", v2, "production", require="auc>=0.5")
    for bad in ("acc >> 3", "acc >=", "acc ~ 2"):
        with pytest.raises(InvalidInput):
            mlops.promote("churn", v2, "production", require=bad)
    with pytest.raises(NotFound, match="no version 9"):
        mlops.promote("churn", 9, "production")
    assert str(client.get_model_version_by_alias("churn", "production").version) == v1
    assert len(mlops.history("churn")) == before


def test_audit_trail_records_promotions_and_refusals(store: Any, iris: dict[str, Any]) -> None:
    v1 = _version_with(iris, "churn", accuracy=0.9)
    v2 = _version_with(iris, "churn", accuracy=0.8)
    mlops.promote("churn", v1, "production", require="accuracy>=0.85")
    with pytest.raises(PromotionRefused):
        mlops.promote("churn", v2, "production", beat="production", on="accuracy")
    trail = mlops.history("churn")
    assert list(trail["result"]) == ["promoted", "refused"]
    assert list(trail["version"]) == [v1, v2]
    assert list(trail["alias"]) == ["production", "production"]
    assert trail["from_version"].iloc[1] == v1
    assert "accuracy >= 0.85 pass" in trail["gates"].iloc[0]
    assert "FAIL" in trail["gates"].iloc[1]
    assert trail["user"].iloc[0]
    assert trail["time"].iloc[0] <= trail["time"].iloc[1]


def test_concurrent_promotions_keep_every_audit_entry(store: Any, iris: dict[str, Any]) -> None:
    versions = [_version_with(iris, "churn", accuracy=0.9 + i / 100) for i in range(2)]
    errors: list[BaseException] = []

    def promote_many(version: str) -> None:
        try:
            for _ in range(5):
                mlops.gate(f"churn/{version}", require="accuracy>=0.5", promote="staging")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=promote_many, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    trail = mlops.history("churn")
    assert len(trail) == 10
    assert sorted(trail["version"].value_counts().to_dict().items()) == [(v, 5) for v in versions]


def test_models_lists_versions_aliases_and_metrics(store: Any, iris: dict[str, Any]) -> None:
    v1 = _version_with(iris, "churn", accuracy=0.9, f1=0.8)
    _version_with(iris, "churn", accuracy=0.95, f1=0.7)
    mlops.register_model(Threshold(2.0), "rule", example=iris["Xtr"])
    mlops.promote("churn", v1, "production")
    frame = mlops.models()
    assert set(frame["name"]) == {"churn", "rule"}
    churn = frame[frame["name"] == "churn"].set_index("version")
    assert churn.loc[1, "aliases"] == "production"
    assert churn.loc[2, "aliases"] == ""
    assert churn.loc[1, "metrics.accuracy"] == 0.9
    assert churn.loc[2, "metrics.f1"] == 0.7
    assert list(mlops.models("rule")["name"]) == ["rule"]
    with pytest.raises(NotFound):
        mlops.models("nope")


@pytest.mark.sqlite_only  # the embedded artifact root; a server keeps its own
def test_model_files_stay_in_the_store(store: Any, iris: dict[str, Any]) -> None:
    mlops.register_model(Threshold(2.0), "rule", example=iris["Xtr"])
    mlmodels = list(Path(store.artifact_root).rglob("MLmodel"))
    assert len(mlmodels) == 1
    assert not (Path.cwd() / "mlruns").exists()
