"""%mlops magics through a real IPython shell, read back with MlflowClient."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

import jupyter_mlops as mlops

pytestmark = pytest.mark.integration


def _only_run(client, experiment: str):  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def test_log_splits_numbers_into_metrics_and_text_into_params(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment churn")
    ip.run_line_magic("mlops", "log lr=0.01 model=rf")
    ip.run_line_magic("mlops", "log acc=0.5 --step 1")
    ip.run_line_magic("mlops", "log acc=0.75 --step 2")
    ip.run_line_magic("mlops", "end")
    run = _only_run(client, "churn")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model": "rf"}
    assert run.data.metrics == {"lr": 0.01, "acc": 0.75}
    history = client.get_metric_history(run.info.run_id, "acc")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.75)]


def test_start_tag_params_metrics_end(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment e1")
    ip.run_line_magic("mlops", "start --name first --tag team=growth")
    ip.run_line_magic("mlops", "params depth=8 model=rf")
    ip.run_line_magic("mlops", "metrics loss=0.3 acc=0.9 --step 4")
    ip.run_line_magic("mlops", "tag stage=dev")
    ip.run_line_magic("mlops", "end --status FAILED")
    run = _only_run(client, "e1")
    assert run.info.run_name == "first"
    assert run.info.status == "FAILED"
    assert run.data.params == {"depth": "8", "model": "rf"}
    assert run.data.metrics == {"loss": 0.3, "acc": 0.9}
    assert run.data.tags["team"] == "growth" and run.data.tags["stage"] == "dev"


def test_run_context_is_captured(ip, client, store) -> None:
    ip.run_line_magic("mlops", "experiment ctx")
    ip.run_line_magic("mlops", "log x=1")
    ip.run_line_magic("mlops", "end")
    tags = _only_run(client, "ctx").data.tags
    assert tags["mlops.root"] == str(store.root)
    assert tags["mlops.python"].count(".") == 2
    assert '"mlflow"' in tags["mlops.packages"]
    assert tags["mlops.host"] and tags["mlops.pid"].isdigit()


def test_cell_magic_logs_listed_variables_and_cell_source(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment cells")
    body = "lr = 0.1\ndepth = 3\nacc = 0.93\nacc * 2\n"
    value = ip.run_cell_magic("mlops", "run --name baseline --params lr,depth --metrics acc", body)
    assert value == pytest.approx(1.86)
    run = _only_run(client, "cells")
    assert run.info.run_name == "baseline" and run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1", "depth": "3"}
    assert run.data.metrics == {"acc": 0.93}
    local = client.download_artifacts(run.info.run_id, "cell.py")
    assert Path(local).read_text() == body


def test_cell_magic_nests_under_an_active_run(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment nest")
    ip.run_line_magic("mlops", "start --name parent")
    ip.run_cell_magic("mlops", "run --name child --metrics m", "m = 1.5")
    ip.run_line_magic("mlops", "end")
    exp = client.get_experiment_by_name("nest")
    by_name = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert by_name["child"].data.tags["mlflow.parentRunId"] == by_name["parent"].info.run_id
    assert by_name["child"].data.metrics == {"m": 1.5}


def test_exception_in_cell_ends_run_failed_and_reraises(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment boom")
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("mlops", "run --name bad", "x = 1 / 0")
    run = _only_run(client, "boom")
    assert run.info.status == "FAILED"
    assert mlops.active_run() is None


def test_runs_filter_returns_matching_runs_as_a_frame(ip) -> None:
    ip.run_line_magic("mlops", "experiment search")
    for name, acc in (("low", 0.5), ("high", 0.9), ("mid", 0.85)):
        ip.run_cell_magic("mlops", f"run --name {name} --metrics acc", f"acc = {acc}")
    frame = ip.run_line_magic(
        "mlops", 'runs --filter "metrics.acc > 0.8" --order-by "metrics.acc DESC"'
    )
    assert list(frame["name"]) == ["high", "mid"]
    assert list(frame["metrics.acc"]) == [0.9, 0.85]
    assert {"run_id", "status", "start_time", "duration_s"} <= set(frame.columns)


def test_status_shows_store_experiment_and_active_run(ip, store, capsys) -> None:
    ip.run_line_magic("mlops", "experiment st")
    ip.run_line_magic("mlops", "start --name live")
    ip.run_line_magic("mlops", "status")
    out = capsys.readouterr().out
    assert store.tracking_uri in out
    assert str(store.root) in out
    assert "st" in out and "live" in out and "RUNNING" in out
    assert "pending values" in out
    ip.run_line_magic("mlops", "end")


def test_artifact_uploads_a_file(ip, client, tmp_path) -> None:
    f = tmp_path / "report.txt"
    f.write_text("hello")
    ip.run_line_magic("mlops", "experiment art")
    ip.run_line_magic("mlops", f"artifact {f} --dir reports")
    ip.run_line_magic("mlops", "end")
    run = _only_run(client, "art")
    assert [a.path for a in client.list_artifacts(run.info.run_id, "reports")] == [
        "reports/report.txt"
    ]


def test_help_lists_every_subcommand_with_an_example(ip, capsys) -> None:
    from jupyter_mlops.magics._registry import SUBCOMMANDS

    ip.run_line_magic("mlops", "help")
    out = capsys.readouterr().out
    for name, sub in SUBCOMMANDS.items():
        assert sub.usage in out, name
        assert sub.example in out, name
    assert "%mlops experiment" in (
        type(ip.magics_manager.registry["MlopsMagics"]).mlops.__doc__ or ""
    )


# -- bad input: each is one UsageError line, no run started, nothing logged ------------------

BAD_LINES = [
    ("frobnicate", r"unknown subcommand 'frobnicate'; valid: .*experiment.*"),
    ("log lr", r"expected key=value, got 'lr'; the form is %mlops log k=v"),
    ("params depth", r"expected key=value, got 'depth'"),
    ("metrics acc=high", r"metric 'acc' must be a number, got 'high'"),
    ("artifact /no/such/file.png", r"no file or folder '/no/such/file.png'"),
    (
        'runs --filter "metrics.acc >>> 3"',
        r"cannot search runs: .*the form is MLflow's search syntax",
    ),
    ("log bad%key=1", r"invalid metric name 'bad%key': use 1-250 letters"),
    ("params ../up=1", r"invalid param name '../up'"),
    ("log --step x a=1", r"argument --step: invalid int value: 'x'; usage: %mlops log"),
    ("end --status DONE", r"unknown status 'DONE'; use one of FINISHED, FAILED, KILLED"),
    ("experiment", r"required: name; usage: %mlops experiment name"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_bad_input_is_one_usage_error_line_and_starts_no_run(ip, client, line, message) -> None:
    ip.run_line_magic("mlops", "experiment bad")
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("mlops", line)
    assert type(info.value) is UsageError
    assert "\n" not in str(info.value)
    assert mlops.active_run() is None
    exp = client.get_experiment_by_name("bad")
    assert client.search_runs([exp.experiment_id]) == []


def test_relogging_a_param_with_another_value_is_refused_and_keeps_the_first(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment immut")
    ip.run_line_magic("mlops", "params lr=0.1")
    with pytest.raises(UsageError, match=r"param 'lr' is already '0.1' .* cannot change") as info:
        ip.run_line_magic("mlops", "params lr=0.2 other=1")
    assert type(info.value) is UsageError
    ip.run_line_magic("mlops", "params lr=0.1")  # same value again is fine
    ip.run_line_magic("mlops", "end")
    assert _only_run(client, "immut").data.params == {"lr": "0.1"}  # 'other' not half-logged


def test_bad_batch_logs_nothing(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment atomic")
    ip.run_line_magic("mlops", "start")
    with pytest.raises(UsageError):
        ip.run_line_magic("mlops", "metrics good=1 bad=x")
    ip.run_line_magic("mlops", "end")
    assert _only_run(client, "atomic").data.metrics == {}


@pytest.mark.parametrize(
    ("options", "body", "message"),
    [
        ("--params nope", "x = 1", r"variable\(s\) nope not defined after the cell"),
        ("--metrics label", "label = 'cat'", r"metric 'label' must be a number, got 'cat'"),
        ("--params 'a b'", "x = 1", r"--params takes comma-separated variable names"),
    ],
)
def test_cell_magic_bad_input_leaves_no_run(ip, client, options, body, message) -> None:
    ip.run_line_magic("mlops", "experiment badcell")
    with pytest.raises(UsageError, match=message) as info:
        ip.run_cell_magic("mlops", f"run {options}", body)
    assert type(info.value) is UsageError
    exp = client.get_experiment_by_name("badcell")
    assert client.search_runs([exp.experiment_id]) == []
    assert mlops.active_run() is None


def test_cell_form_and_line_form_are_not_mixed(ip) -> None:
    with pytest.raises(UsageError, match="run is a cell magic"):
        ip.run_line_magic("mlops", "run --name x")
    with pytest.raises(UsageError, match="takes no cell body"):
        ip.run_cell_magic("mlops", "log a=1", "x = 1")


def test_vscode_notebook_variable_names_the_notebook(ip, client, store) -> None:
    from jupyter_mlops.tracking import api

    api.tracker().notebook_hint = None
    ip.user_ns["__vsc_ipynb_file__"] = str(store.root / "vs" / "explore.ipynb")
    try:
        ip.run_cell("%mlops log x=1")
        ip.run_line_magic("mlops", "end")
    finally:
        del ip.user_ns["__vsc_ipynb_file__"]
    exp = client.get_experiment_by_name("explore")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.tags["mlops.notebook.path"].endswith("vs/explore.ipynb")


def test_a_trailing_comment_is_ignored_as_in_a_shell(ip, client, capsys) -> None:
    cell = (
        "%mlops experiment churn   # select or create (default: the notebook's name)\n"
        "%mlops log model=rf note='a # b' colour=#fff issue=\\#27   # numbers → metrics\n"
        "%mlops status   # store, root, experiment\n"
    )
    result = ip.run_cell(cell)
    assert result.success, result.error_in_exec
    result = ip.run_cell("%%mlops run --name baseline --metrics acc   # its own run\nacc = 0.9")
    assert result.success, result.error_in_exec
    ip.run_line_magic("mlops", "end")
    exp = client.get_experiment_by_name("churn")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert len(runs) == 2 and "baseline" in runs
    (first,) = [r for name, r in runs.items() if name != "baseline"]
    assert first.data.params == {"model": "rf", "note": "a # b", "colour": "#fff", "issue": "#27"}
    assert runs["baseline"].data.metrics == {"acc": 0.9}
    assert "churn" in capsys.readouterr().out


def test_an_unclosed_quote_before_a_comment_is_still_a_usage_error(ip) -> None:
    with pytest.raises(UsageError, match="No closing quotation"):
        ip.run_line_magic("mlops", "log note='a # b")


def test_a_number_already_a_param_of_the_run_stays_a_param(ip, client) -> None:
    ip.run_line_magic("mlops", "experiment settings")
    ip.run_cell("%%mlops run --name tuned --params lr\nlr = 0.05")
    ip.run_line_magic("mlops", "start --name again")
    ip.run_line_magic("mlops", "params lr=0.01")
    ip.run_line_magic("mlops", "log lr=0.01 acc=0.8")
    ip.run_line_magic("mlops", "end")
    exp = client.get_experiment_by_name("settings")
    runs = {r.info.run_name: r.data for r in client.search_runs([exp.experiment_id])}
    assert runs["tuned"].params == {"lr": "0.05"} and runs["again"].params == {"lr": "0.01"}
    assert runs["again"].metrics == {"acc": 0.8}
