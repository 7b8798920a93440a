"""Model registry speed: jupyter-mlops vs MLflow's own calls, side by side in one run.

Measures, on one embedded SQLite store, median seconds per call over N repeats:
- register a fitted scikit-learn Pipeline with signature + input example as a new
  version: ``mlops.register_model`` vs ``mlflow.sklearn.log_model(...,
  registered_model_name=...)`` (MLflow's default, which infers pip requirements);
- register a plain object with ``predict``: ours vs ``mlflow.pyfunc.log_model`` with a
  hand-written ``PythonModel`` (what a user writes without us);
- load a version by alias: ``mlops.load_model("m@alias")`` vs
  ``mlflow.sklearn.load_model("models:/m@alias")``;
- gate + promote with an audit record: ``mlops.models.gate(..., promote=...)`` vs the
  bare ``client.set_registered_model_alias`` (no gates, no audit) for scale.

Usage: ``python bench/bench_models.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.config import load_settings
from jupyter_mlops.tracking import api
from jupyter_mlops.tracking.mlflow_bridge.store import open_client


def _median(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Rule:
    def predict(self, X: Any) -> Any:
        return (X.iloc[:, 0] > 14).astype(int).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import jupyter_mlops as mlops

    root = Path(tempfile.mkdtemp(prefix="mlops-bench-models-"))
    (root / ".mlops").mkdir()
    settings = load_settings(home=str(root))
    client = open_client(settings)
    api.reset(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    example = X.iloc[:5]
    signature = infer_signature(example, clf.predict(example))
    mlops.start_run(name="bench")
    run_id = mlops.active_run().run_id  # type: ignore[union-attr]

    def in_run() -> Any:
        # The jupyter-mlops run is MLflow's active run too; MLflow refuses to start it again.
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            return contextlib.nullcontext()
        return mlflow.start_run(run_id=run_id)

    class Wrapped(mlflow.pyfunc.PythonModel):
        def __init__(self, obj: Any) -> None:
            self.obj = obj

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return self.obj.predict(model_input)

    # warm both paths once (imports, first-time caches) so medians compare steady state
    mlops.register_model(clf, "ours", example=X)
    mlops.register_model(Rule(), "ours_rule", example=X)
    with in_run():
        mlflow.sklearn.log_model(clf, name="m", signature=signature, input_example=example,
                                 registered_model_name="theirs")  # fmt: skip
        mlflow.pyfunc.log_model(name="r", python_model=Wrapped(Rule()), input_example=example,
                                registered_model_name="theirs_rule")  # fmt: skip

    def theirs_sklearn() -> None:
        with in_run():
            mlflow.sklearn.log_model(clf, name="m", signature=signature, input_example=example,
                                     registered_model_name="theirs")  # fmt: skip

    def theirs_pyfunc() -> None:
        with in_run():
            mlflow.pyfunc.log_model(name="r", python_model=Wrapped(Rule()), input_example=example,
                                    registered_model_name="theirs_rule")  # fmt: skip

    n = args.repeats
    reg_ours = _median(lambda: mlops.register_model(clf, "ours", example=X), n)
    reg_theirs = _median(theirs_sklearn, n)
    obj_ours = _median(lambda: mlops.register_model(Rule(), "ours_rule", example=X), n)
    obj_theirs = _median(theirs_pyfunc, n)
    mlops.promote("ours", 1, "production")
    client.set_registered_model_alias("theirs", "production", "1")
    load_ours = _median(lambda: mlops.load_model("ours@production"), n)
    load_theirs = _median(lambda: mlflow.sklearn.load_model("models:/theirs@production"), n)
    mlops.log(accuracy=0.97)
    mlops.flush()
    gate_ours = _median(
        lambda: mlops.models.gate("ours/2", require="accuracy>=0.9", promote="staging"), n
    )
    alias_bare = _median(lambda: client.set_registered_model_alias("theirs", "staging", "2"), n)
    mlops.end_run()

    rows = [
        ("register sklearn Pipeline (+signature, example)", reg_ours, reg_theirs,
         "mlflow.sklearn.log_model(registered_model_name=)"),
        ("register object with predict()", obj_ours, obj_theirs,
         "mlflow.pyfunc.log_model(PythonModel)"),
        ("load by alias", load_ours, load_theirs, "mlflow.sklearn.load_model(models:/m@a)"),
        ("gate + promote + audit record", gate_ours, alias_bare,
         "client.set_registered_model_alias (no gate/audit)"),
    ]  # fmt: skip
    print_table(
        f"Model registry, median of {n} (SQLite store, breast-cancer data)",
        ["operation", "jupyter-mlops (ms)", "MLflow (ms)", "MLflow / ours", "MLflow call"],
        [
            (op, f"{a * 1000:.0f}", f"{b * 1000:.0f}", f"{b / a:.1f}x", call)
            for op, a, b, call in rows
        ],
    )


if __name__ == "__main__":
    main()
