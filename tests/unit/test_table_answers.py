"""Reused runs-table answers: bounded by count and size, and never older than the index."""

from __future__ import annotations

from typing import Any

from jupyter_mlops.config import Settings
from jupyter_mlops.tracking.reading.columns import AnswerCache, nested_order, runs_columns
from jupyter_mlops.tracking.reading.index import shared_index


def test_cache_drops_the_least_recently_used_over_count_or_size() -> None:
    cache = AnswerCache(count=2, budget=10)
    cache.put("a", 1, 4)
    cache.put("b", 2, 4)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3, 4)  # 12 > 10 and 3 > 2: "b" goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    cache.put("huge", 4, 50)  # over the budget alone: kept, everything else goes
    assert (cache.get("a"), cache.get("c"), cache.get("huge")) == (None, None, 4)


def test_same_query_reuses_the_answer_until_a_run_changes(store: Settings, client: Any) -> None:
    exp = client.create_experiment("answers")
    run = client.create_run(exp, run_name="first").info.run_id
    client.log_metric(run, "acc", 0.5)
    uri = store.tracking_uri
    one = runs_columns(uri, [exp], columns=["metrics.acc"])
    assert runs_columns(uri, [exp], columns=["metrics.acc"]) is one
    assert runs_columns(uri, [exp], columns=["metrics.acc"], limit=1) is not one
    client.log_metric(run, "acc", 0.75)
    client.set_terminated(run)
    shared_index(uri, [exp]).refresh(full=True)
    two = runs_columns(uri, [exp], columns=["metrics.acc"])
    assert two is not one and two["columns"]["metrics.acc"] == [0.75]
    assert two["version"] > one["version"]


def test_nested_order_stops_at_its_limit_and_keeps_cycles() -> None:
    ids = ["a", "b", "c", "d", "e"]
    parents = [None, "a", "d", "c", None]  # c and d name each other
    assert nested_order(ids, parents) == [(0, 0), (1, 1), (4, 0), (2, 0), (3, 1)]
    assert nested_order(ids, parents, 3) == [(0, 0), (1, 1), (4, 0)]
