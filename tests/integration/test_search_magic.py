"""``mlops.search``, ``%mlops search`` and ``jupyter mlops search``: the same study from a cell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, params, write_notebook

pytestmark = pytest.mark.integration


@pytest.fixture
def notebook(store):  # type: ignore[no-untyped-def]
    return write_notebook(
        store.root / "fit.ipynb",
        [
            params("x = 0.0\nn = 1"),
            code("import jupyter_mlops as mlops\nmlops.log(loss=(x - 1) ** 2 + n)"),
        ],
    )


def test_magic_and_api_share_one_study(ip, store, notebook, client) -> None:  # type: ignore[no-untyped-def]
    result = ip.run_line_magic(
        "mlops",
        f"search {notebook} -y 'x: {{low: 0.0, high: 2.0}}' -p n 2 --method random --trials 2 "
        "--metric loss --direction minimize --seed 4 -j 2",
    )
    assert result.ok and [u.status for u in result.trials] == ["ran", "ran"]
    losses = {u.run_id: client.get_run(u.run_id).data.metrics["loss"] for u in result.trials}
    assert result.best.run_id == min(losses, key=losses.get)
    assert result.best.value == pytest.approx(min(losses.values()))
    assert all(u.params["n"] == 2 and 0.0 <= u.params["x"] <= 2.0 for u in result.trials)
    more = mlops.search(
        notebook,
        params={"x": {"low": 0.0, "high": 2.0}, "n": 2},
        sweep={
            "method": "random",
            "trials": 3,
            "metric": "loss",
            "direction": "minimize",
            "seed": 4,
        },
        jobs=1,
    )
    assert [u.status for u in more.trials] == ["cached", "cached", "ran"]
    assert "best: fit#" in more.table()


def test_magic_validation_is_one_usage_error_listing_every_problem(ip, store, notebook) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(
            "mlops",
            f"search {notebook} -y 'x: {{low: 3, high: 1}}' -y 'y: {{choices: [1]}}' --method sa",
        )
    assert type(info.value) is UsageError
    message = str(info.value)
    for expected in (
        "low 3, high 1",
        "method 'sa'",
        "'trials:'",
        "'metric:'",
        "unknown parameter(s) y",
    ):
        assert expected in message
    assert not (store.root / ".mlops" / "studies.db").exists()


def test_cli_search_exits_2_on_bad_input(store, notebook, capsys) -> None:  # type: ignore[no-untyped-def]
    code_ = main(
        [
            "search",
            str(notebook),
            "-y",
            "x: {low: 0, high: 1}",
            "--trials",
            "2",
            "--pruner",
            "eager",
        ]
    )
    assert code_ == 2
    err = capsys.readouterr().err
    assert "pruner 'eager' is not known" in err and "'metric:'" in err
    assert "Traceback" not in err
