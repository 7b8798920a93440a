"""DAG order, sweeps expansion and selection of steps."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.pipelines.dag import (
    ancestors,
    descendants,
    find_cycles,
    layers,
    topological_order,
)
from jupyter_mlops.pipelines.executors import open_executor
from jupyter_mlops.pipelines.sweep import expand, member_label

DIAMOND = {"eval": ["train", "baseline"], "train": ["prep"], "baseline": ["prep"], "prep": []}


def test_topological_order_puts_needs_first_and_keeps_file_order() -> None:
    order = topological_order(DIAMOND)
    assert order == ["prep", "train", "baseline", "eval"]
    assert layers(DIAMOND) == [["prep"], ["train", "baseline"], ["eval"]]


def test_cycles_are_reported_once_each() -> None:
    assert find_cycles(DIAMOND) == []
    cycles = find_cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"]})
    assert sorted(map(tuple, cycles)) == [("a", "b", "c", "a"), ("d", "d")]


def test_ancestors_and_descendants() -> None:
    assert ancestors(DIAMOND, ["eval"]) == {"train", "baseline", "prep"}
    assert descendants(DIAMOND, ["train"]) == {"eval"}
    assert descendants(DIAMOND, ["prep"]) == {"train", "baseline", "eval"}


def test_grid_and_zip_sweeps() -> None:
    grid = expand({"n": [100, 300], "depth": [4, 8], "seed": 0}, "grid")
    assert len(grid) == 4 and all(m["seed"] == 0 for m in grid)
    assert {(m["n"], m["depth"]) for m in grid} == {(100, 4), (100, 8), (300, 4), (300, 8)}
    assert expand({"a": [1, 2], "b": [3, 4]}, "zip") == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    # without a sweep a list is one value; inside one, a wrapped list stays a list
    assert expand({"layers": [64, 32]}, None) == [{"layers": [64, 32]}]
    assert expand({"layers": [[64, 32]], "lr": [0.1]}, "grid") == [{"layers": [64, 32], "lr": 0.1}]
    assert member_label({"n": 100, "depth": 4, "seed": 0}, ["n", "depth"]) == "n=100,depth=4"


@pytest.mark.parametrize(
    ("spec", "jobs", "message"),
    [
        ("ray://x:1", None, "unknown executor 'ray://x:1'; use one of: local, dask://HOST:PORT"),
        ("dask://", None, "unknown executor"),
        ("local", 0, "--jobs must be 1 or more, got 0"),
    ],
)
def test_executor_names_are_checked(spec: str, jobs: int | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_executor(spec, jobs)
