"""The Dask executor on a real LocalCluster: the same runs, outputs and cache as local."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import StoreError
from jupyter_mlops.headless.fork.templates import all_templates, fork_enabled
from jupyter_mlops.testing.notebooks import code, params, write_notebook, write_pipeline

pytestmark = pytest.mark.integration

PIPELINE = """
name: d
steps:
  sq:
    notebook: sq.ipynb
    params: {x: [2, 3]}
    sweep: grid
  total:
    notebook: total.ipynb
    needs: [sq]
"""


def _outcome(client, result) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    """Per unit: status, params, metrics and where it hangs in the run tree."""
    out = {}
    for unit in result.units:
        run = client.get_run(unit.run_id)
        parent = client.get_run(run.data.tags["mlflow.parentRunId"])
        out[unit.label] = (
            run.info.status,
            dict(run.data.params),
            dict(run.data.metrics),
            parent.data.tags["mlops.pipeline.role"],
        )
    return out


def test_dask_executor_matches_local(store, client) -> None:  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    root: Path = store.root
    write_notebook(
        root / "sq.ipynb",
        [params("x = 0"), code("import jupyter_mlops as mlops\nmlops.log(sq=x * x)")],
    )
    write_notebook(
        root / "total.ipynb",
        [
            code(
                "import jupyter_mlops as mlops\n"
                "mlops.log(total=sum(r.metrics['sq'] for r in mlops.upstream('sq')))"
            )
        ],
    )
    path = write_pipeline(root / "pipeline.yaml", PIPELINE)
    local = mlops.run_pipeline(path, jobs=2)
    assert local.counts["ran"] == 3
    expected = _outcome(client, local)
    assert expected["total"][2] == {"total": 13.0}

    forked = _forks(root)
    with LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        cached = mlops.run_pipeline(path, executor=address)
        assert cached.counts["cached"] == 3  # the same cache keys as the local executor
        remote = mlops.run_pipeline(path, executor=address, force=True)
    assert remote.ok and remote.counts["ran"] == 3
    assert {u.run_id for u in remote.units}.isdisjoint({u.run_id for u in local.units})
    assert _outcome(client, remote) == expected
    parent = client.get_run(remote.parent_run_id)
    assert parent.data.tags["mlops.pipeline.executor"] == address
    if fork_enabled({}):  # the Dask workers' kernels came from the project's template too
        assert _forks(root) >= forked + 3


def _forks(root: Path) -> int:
    return sum(t["forks"] for t in all_templates(root))


def test_unreachable_scheduler_is_one_clear_error(store) -> None:  # type: ignore[no-untyped-def]
    write_notebook(store.root / "sq.ipynb", [params("x = 0"), code("y = x")])
    path = write_pipeline(store.root / "p.yaml", "name: u\nsteps:\n  a: {notebook: sq.ipynb}\n")
    with pytest.raises(StoreError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        mlops.run_pipeline(path, executor="dask://127.0.0.1:9")
