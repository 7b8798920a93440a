"""REST API of the server extension: experiments, runs, detail, history, artifacts, errors."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops._version import __version__
from jupyter_mlops.config import Settings

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.integration


@pytest.fixture
def jp_server_config(store: Settings) -> dict[str, Any]:
    # ``store`` first: the server resolves its settings from the environment it sets.
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}}


@pytest.fixture
def logged(client: Any) -> dict[str, Any]:
    """Twelve finished runs in experiment ``exp``, one with history and artifacts."""
    exp = client.create_experiment("exp")
    ids = []
    for i in range(12):
        run = client.create_run(exp, run_name=f"run-{i:02d}", start_time=1_000 + i)
        client.log_param(run.info.run_id, "lr", str(0.1 * (i % 3)))
        client.log_metric(run.info.run_id, "acc", i / 20, step=0)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    rid = ids[0]
    for step in range(5):
        client.log_metric(rid, "loss", 1.0 / (step + 1), step=step)
    return {"experiment_id": exp, "ids": ids, "rid": rid}


async def get_json(jp_fetch: Any, *parts: str, **params: Any) -> Any:
    response = await jp_fetch("mlops", "api", "v1", *parts, params=params or None)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch: Any, *parts: str, **params: Any) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops", "api", "v1", *parts, params=params or None)
    body = json.loads(info.value.response.body)
    return info.value.code, body["message"]


async def test_status_reports_version_and_store(
    jp_fetch: Any, store: Settings, jp_root_dir: Path
) -> None:
    body = await get_json(jp_fetch, "status")
    assert body["version"] == __version__
    assert body["root"] == str(store.root)
    assert body["server_root"] == str(jp_root_dir.resolve())
    assert set(body["features"]) == {"models", "data", "headless", "schedules"}


async def test_experiments_lists_created_ones(jp_fetch: Any, logged: dict[str, Any]) -> None:
    body = await get_json(jp_fetch, "experiments")
    names = {e["name"]: e["experiment_id"] for e in body["experiments"]}
    assert names["exp"] == logged["experiment_id"]


async def test_runs_pages_cover_every_run_once(jp_fetch: Any, logged: dict[str, Any]) -> None:
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        body = await get_json(
            jp_fetch, "runs", experiment_id=logged["experiment_id"], max_results=5, page_token=token
        )
        seen += [r["run_id"] for r in body["runs"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(logged["ids"])
    assert len(seen) == len(set(seen))


async def test_runs_default_order_is_newest_first(jp_fetch: Any, logged: dict[str, Any]) -> None:
    body = await get_json(jp_fetch, "runs", experiment_id=logged["experiment_id"])
    assert [r["name"] for r in body["runs"]] == [f"run-{i:02d}" for i in reversed(range(12))]
    row = body["runs"][0]
    assert row["status"] == "FINISHED"
    assert row["params"] == {"lr": str(0.1 * (11 % 3))}


async def test_runs_filter_and_order_by_metric(jp_fetch: Any, logged: dict[str, Any]) -> None:
    body = await get_json(
        jp_fetch,
        "runs",
        experiment_id=logged["experiment_id"],
        filter="metrics.acc >= 0.3",
        order_by="metrics.acc ASC",
    )
    accs = [r["metrics"]["acc"] for r in body["runs"]]
    assert accs == sorted(accs)
    assert accs and min(accs) >= 0.3
    assert len(accs) == sum(1 for i in range(12) if i / 20 >= 0.3)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"filter": "metrics.acc >>> 1"}, "search syntax"),
        ({"order_by": "bogus DESC"}, "metrics.acc DESC"),
        ({"max_results": "0"}, "max_results must be"),
        ({"max_results": "ten"}, "max_results must be"),
    ],
)
async def test_runs_bad_query_is_400_with_the_right_form(
    jp_fetch: Any, logged: dict[str, Any], params: dict[str, str], fragment: str
) -> None:
    code, message = await error_of(
        jp_fetch, "runs", experiment_id=logged["experiment_id"], **params
    )
    assert code == 400
    assert fragment in message
    assert "\n" not in message


async def test_runs_without_experiment_is_400(jp_fetch: Any, store: Settings) -> None:
    code, message = await error_of(jp_fetch, "runs")
    assert code == 400 and "experiment_id" in message


async def test_run_detail_and_unknown_run(jp_fetch: Any, logged: dict[str, Any]) -> None:
    body = await get_json(jp_fetch, "runs", logged["rid"])
    assert body["name"] == "run-00"
    assert body["metrics"]["loss"] == pytest.approx(0.2)
    assert "mlflow.runName" in body["tags"]
    code, message = await error_of(jp_fetch, "runs", "0" * 32)
    assert code == 404 and "0" * 32 in message
    code, _ = await error_of(jp_fetch, "runs", "not-a-run-id")
    assert code == 400


async def test_metric_history_in_step_order(jp_fetch: Any, logged: dict[str, Any]) -> None:
    body = await get_json(jp_fetch, "runs", logged["rid"], "metric-history", key="loss")
    points = body["metrics"]["loss"]
    assert [p["step"] for p in points] == list(range(5))
    assert [p["value"] for p in points] == pytest.approx([1 / (s + 1) for s in range(5)])
    every = await get_json(jp_fetch, "runs", logged["rid"], "metric-history")
    assert set(every["metrics"]) == {"acc", "loss"}


@pytest.fixture
def with_artifacts(client: Any, logged: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "notes.txt").write_text("hello artifacts\n")
    (src / "sub" / "data.json").write_text('{"a": 1}')
    client.log_artifacts(logged["rid"], str(src))
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    run = client.get_run(logged["rid"])
    root = Path(run.info.artifact_uri.removeprefix("file://"))
    os.symlink(secret, root / "link.txt")
    return {**logged, "artifact_root": root}


@pytest.mark.sqlite_only  # plants a symlink in the local artifact folder
async def test_artifacts_list_and_download(jp_fetch: Any, with_artifacts: dict[str, Any]) -> None:
    rid = with_artifacts["rid"]
    body = await get_json(jp_fetch, "runs", rid, "artifacts")
    entries = {f["path"]: f["is_dir"] for f in body["files"]}
    assert entries["sub"] is True and entries["notes.txt"] is False
    inner = await get_json(jp_fetch, "runs", rid, "artifacts", path="sub")
    assert [f["path"] for f in inner["files"]] == ["sub/data.json"]
    response = await jp_fetch(
        "mlops", "api", "v1", "runs", rid, "artifact", params={"path": "notes.txt"}
    )
    assert response.body == b"hello artifacts\n"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.sqlite_only  # plants a symlink in the local artifact folder
@pytest.mark.parametrize(
    "path",
    [
        "../../../../etc/passwd",
        "sub/../../secret.txt",
        "/etc/passwd",
        "link.txt",
        "missing.txt",
        "sub",
        "~/x",
        "C:/windows",
    ],
)
async def test_artifact_download_cannot_escape(
    jp_fetch: Any, with_artifacts: dict[str, Any], path: str
) -> None:
    code, message = await error_of(jp_fetch, "runs", with_artifacts["rid"], "artifact", path=path)
    assert code in (400, 404)
    assert "top secret" not in message


@pytest.mark.sqlite_only  # plants a symlink in the local artifact folder
async def test_artifact_url_encoded_traversal(
    jp_fetch: Any, with_artifacts: dict[str, Any], jp_base_url: str
) -> None:
    rid = with_artifacts["rid"]
    for raw in (
        "..%2F..%2F..%2Fsecret.txt",
        "%2e%2e/%2e%2e/secret.txt",
        "%252e%252e%252fsecret.txt",
    ):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("mlops", "api", "v1", "runs", rid, f"artifact?path={raw}")
        assert info.value.code in (400, 404)
        assert b"top secret" not in (info.value.response.body or b"")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops", "api", "v1", "runs", rid, "artifacts", params={"path": "../.."})
    assert info.value.code == 400


async def test_concurrent_artifact_reads_never_mix_runs(
    jp_fetch: Any, jp_serverapp: Any, client: Any, tmp_path: Path
) -> None:
    """Six runs each hold ``notebook/same.txt``; 60 reads at once each get their own run's file.

    Against a tracking server (the team pass) every read is a download: each must land in
    a folder of its own, removed once the response is sent.
    """
    exp = client.create_experiment("same-names")
    expected: dict[str, bytes] = {}
    for i in range(6):
        rid = client.create_run(exp, run_name=f"r{i}").info.run_id
        src = tmp_path / f"src{i}"
        src.mkdir()
        text = f"run {i} {rid}\n" * (2000 + 500 * i)
        (src / "same.txt").write_text(text)
        client.log_artifact(rid, str(src / "same.txt"), artifact_path="notebook")
        expected[rid] = text.encode()
    order = [rid for _ in range(10) for rid in expected]
    responses = await asyncio.gather(
        *(
            jp_fetch(
                "mlops", "api", "v1", "runs", rid, "artifact", params={"path": "notebook/same.txt"}
            )
            for rid in order
        )
    )
    mixed = [rid for rid, r in zip(order, responses, strict=True) if r.body != expected[rid]]
    assert mixed == [], f"{len(mixed)} of {len(order)} reads got another run's file"
    scratch = jp_serverapp.web_app.settings["jupyter_mlops"].scratch
    assert list(scratch.iterdir()) == []  # every private copy was removed once sent


async def test_unauthenticated_requests_are_refused(jp_fetch: Any, logged: dict[str, Any]) -> None:
    for parts in (("status",), ("experiments",), ("runs", logged["rid"])):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("mlops", "api", "v1", *parts, headers={"Authorization": ""})
        assert info.value.code == 403
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "mlops", "api", "v1", "experiments", headers={"Authorization": "token wrong"}
        )
    assert info.value.code == 403


def test_quote_helper_roundtrip() -> None:
    # the traversal test above relies on Tornado decoding the query once
    assert quote("../", safe="") == "..%2F"
