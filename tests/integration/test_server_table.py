"""REST ``GET runs-table``: matching runs as columns, nested runs linked to their parent."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_mlops.config import Settings
from tests.integration.test_server_runs import error_of, get_json

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def sweep(client: Any) -> dict[str, Any]:
    """A parent run with three nested members, and two top-level runs."""
    exp = client.create_experiment("table")
    parent = client.create_run(exp, run_name="sweep", start_time=1_000).info.run_id
    ids = {"sweep": parent}
    for i, acc in enumerate((0.5, 0.9, 0.7)):
        tags = {"mlflow.parentRunId": parent, "team": "<b>x</b>"}
        run = client.create_run(exp, run_name=f"member-{i}", start_time=2_000 + i, tags=tags)
        client.log_metric(run.info.run_id, "acc", acc)
        client.log_param(run.info.run_id, "depth", str(i + 2))
        client.set_terminated(run.info.run_id)
        ids[f"member-{i}"] = run.info.run_id
    for name, acc in (("solo", 0.8), ("nan", float("nan"))):
        run = client.create_run(exp, run_name=name, start_time=3_000)
        client.log_metric(run.info.run_id, "acc", acc)
        client.set_terminated(run.info.run_id, "FAILED")
        ids[name] = run.info.run_id
    client.set_terminated(parent)
    return {"experiment_id": exp, "ids": ids}


async def test_columns_hold_values_in_row_order(jp_fetch: Any, sweep: dict[str, Any]) -> None:
    body = await get_json(
        jp_fetch, "runs-table", experiment_id=sweep["experiment_id"], column="metrics.acc"
    )
    runs, acc = body["runs"], body["columns"]["metrics.acc"]
    assert body["total"] == 6 and not body["truncated"]
    by_name = dict(zip(runs["name"], acc, strict=True))
    assert by_name["member-1"] == 0.9 and by_name["sweep"] is None
    assert by_name["nan"] is None  # NaN cannot travel in JSON
    assert set(body["keys"]["metrics"]) == {"acc"} and body["keys"]["params"] == ["depth"]
    assert {len(v) for v in runs.values()} == {6}


async def test_nested_runs_name_their_parent(jp_fetch: Any, sweep: dict[str, Any]) -> None:
    body = await get_json(jp_fetch, "runs-table", experiment_id=sweep["experiment_id"])
    parents = dict(zip(body["runs"]["run_id"], body["runs"]["parent_id"], strict=True))
    ids = sweep["ids"]
    assert [parents[ids[f"member-{i}"]] for i in range(3)] == [ids["sweep"]] * 3
    assert parents[ids["sweep"]] is None and parents[ids["solo"]] is None


async def test_order_filter_and_limit(jp_fetch: Any, sweep: dict[str, Any]) -> None:
    exp = sweep["experiment_id"]
    ordered = await get_json(
        jp_fetch, "runs-table", experiment_id=exp, order_by="metrics.acc DESC", column="metrics.acc"
    )
    assert ordered["runs"]["name"][:4] == ["member-1", "solo", "member-2", "member-0"]
    filtered = await get_json(
        jp_fetch,
        "runs-table",
        experiment_id=exp,
        filter="params.depth != '2'",
        column="params.depth",
    )
    assert sorted(filtered["columns"]["params.depth"]) == ["3", "4"]
    limited = await get_json(jp_fetch, "runs-table", experiment_id=exp, limit=2)
    assert limited["total"] == 6 and limited["truncated"] and len(limited["runs"]["run_id"]) == 2


async def test_nested_first_page_is_the_top_of_the_grouped_table(
    jp_fetch: Any, sweep: dict[str, Any]
) -> None:
    body = await get_json(
        jp_fetch, "runs-table", experiment_id=sweep["experiment_id"], limit=4, nested="true"
    )
    runs = body["runs"]
    # newest first: the two late runs, then the sweep with its members right after it
    assert sorted(runs["name"][:2]) == ["nan", "solo"]
    assert runs["name"][2:] == ["sweep", "member-2"]
    assert runs["parent_id"][3] == sweep["ids"]["sweep"]
    assert body["total"] == 6 and body["truncated"]


async def test_nonfinite_names_the_metric_columns_that_lost_values(
    jp_fetch: Any, sweep: dict[str, Any]
) -> None:
    exp = sweep["experiment_id"]
    body = await get_json(jp_fetch, "runs-table", experiment_id=exp, column="metrics.acc")
    assert body["nonfinite"] == ["metrics.acc"]
    finite = await get_json(
        jp_fetch,
        "runs-table",
        experiment_id=exp,
        column="metrics.acc",
        filter="attributes.run_name != 'nan'",
    )
    assert finite["nonfinite"] == [] and None not in finite["columns"]["metrics.acc"][:2]


async def test_user_text_comes_back_as_data(jp_fetch: Any, sweep: dict[str, Any]) -> None:
    body = await get_json(
        jp_fetch, "runs-table", experiment_id=sweep["experiment_id"], column="tags.team"
    )
    assert body["columns"]["tags.team"].count("<b>x</b>") == 3


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"column": "acc"}, "metrics.KEY"),
        ({"filter": "metrics.acc >>> 1"}, "filter"),
        ({"limit": "0"}, "limit must be"),
        ({"order_by": "nonsense ASC DESC"}, "order"),
        ({"nested": "maybe"}, "nested must be true or false"),
    ],
)
async def test_bad_requests_say_what_is_wrong(
    jp_fetch: Any, sweep: dict[str, Any], params: dict[str, str], fragment: str
) -> None:
    code, message = await error_of(
        jp_fetch, "runs-table", experiment_id=sweep["experiment_id"], **params
    )
    assert code == 400 and fragment in message


async def test_experiment_is_required(jp_fetch: Any) -> None:
    code, message = await error_of(jp_fetch, "runs-table")
    assert code == 400 and "experiment_id=1" in message
