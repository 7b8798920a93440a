"""Run diffs on real runs of real notebooks executed headless (papermill, python3 kernels).

Each run changes one thing from the baseline; the diff must show it in its section
and leave every other section empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.testing.notebooks import code, markdown, params, write_notebook
from jupyter_mlops.tracking.diff.report import RunDiff

pytestmark = pytest.mark.integration

PARAMS = "lr = 0.1\nepochs = 3"
LOAD = 'import jupyter_mlops as mlops\ndf = mlops.load("train")'
LOSS = "for step in range(epochs):\n    mlops.log(loss=1.0 / (step + 1), step=step)"
ACC = "mlops.log(acc=0.5)\nprint('rows', len(df))"
NOTES = "# Notes\nA markdown cell."


def _nb(path: Path, cells: list) -> Path:
    return write_notebook(path, cells)


def _base_cells() -> list:
    return [params(PARAMS), code(LOAD), code(LOSS), code(ACC), markdown(NOTES)]


def _run(nb: Path, **values: object) -> str:
    result = mlops.run_notebook(nb, values or None, experiment="diffs")
    assert result.status == "FINISHED", result.error
    return result.run_id


def _empty_except(d: RunDiff, section: str) -> None:
    """Every section but ``section`` shows nothing (injected parameters count as params)."""
    if section != "code":
        assert d.code is not None and d.code.cells == []
    if section != "params":
        assert d.code is not None and d.code.parameters == {}
    if section != "params":
        assert d.params == []
    if section != "metrics":
        assert d.metrics == []
    if section != "data":
        assert d.data == []
    if section != "env":
        assert d.env == {"fields": {}, "packages": {"added": {}, "removed": {}, "changed": {}}}


@pytest.fixture
def frames(store) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    v1 = pd.DataFrame({"id": [1, 2, 3], "x": [0.1, 0.2, 0.3]})
    v2 = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.2, 0.35, 0.4]})
    return v1, v2


def test_each_change_shows_in_its_section_and_nowhere_else(
    store, client, frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    v1, v2 = frames
    mlops.snapshot(v1, "train")
    nb = _nb(store.root / "train.ipynb", _base_cells())
    base = _run(nb)

    # The same notebook and data again: nothing differs.
    same = mlops.diff(base, _run(nb))
    assert isinstance(same, RunDiff) and same.identical and same.missing == []

    # A parameter change: the injected parameters and the run's params, nothing else.
    d = mlops.diff(base, _run(nb, lr=0.3))
    assert d.code is not None and d.code.parameters == {"lr": [None, 0.3]}
    assert d.code.cells == [] and d.code.unchanged == 5
    assert d.params == [{"key": "lr", "a": None, "b": "0.3"}]
    _empty_except(d, "params")

    # A code edit in one cell: one modified cell with its unified diff.
    edited = _base_cells()
    edited[2] = code(LOSS.replace("1.0 /", "1.0 *  1 /"))
    d = mlops.diff(base, _run(_nb(store.root / "train.ipynb", edited)))
    assert [(c.kind, c.a_index, c.b_index) for c in d.code.cells] == [("modified", 2, 2)]
    diff_text = d.code.cells[0].diff
    assert "-    mlops.log(loss=1.0 / (step + 1), step=step)" in diff_text
    assert "+    mlops.log(loss=1.0 *  1 / (step + 1), step=step)" in diff_text
    _empty_except(d, "code")

    # A moved cell: the markdown cell now comes first.
    moved = _base_cells()
    moved.insert(0, moved.pop())
    d = mlops.diff(base, _run(_nb(store.root / "train.ipynb", moved)))
    kinds = [(c.kind, c.cell_type, c.a_index, c.b_index) for c in d.code.cells]
    assert kinds == [("moved", "markdown", 4, 0)]
    _empty_except(d, "code")

    # A new input snapshot version: the data section, with the data diff's summary.
    _nb(store.root / "train.ipynb", _base_cells())
    mlops.snapshot(v2, "train")
    on_v2 = _run(nb)
    d = mlops.diff(base, on_v2)
    [row] = d.data
    assert row["a"]["ref"] == "train@v1" and row["b"]["ref"] == "train@v2"
    assert row["same"] is False
    assert row["summary"]["rows"] == mlops.diff("train@v1", "train@v2").to_dict()["rows"]
    assert row["summary"]["rows"]["added"] >= 1
    _empty_except(d, "data")
    # Outputs only when asked: the cell printing the row count printed another number.
    assert d.outputs is None
    outputs = mlops.diff(base, on_v2, only="outputs")
    assert outputs.code is None and outputs.params is None and outputs.data is None
    [out] = outputs.outputs
    assert (out["a_index"], out["b_index"]) == (3, 3)
    assert "-rows 3\n" in out["diff"] and "+rows 4\n" in out["diff"]

    # A package upgrade in the environment that ran the notebook.
    site = tmp_path / "site"
    dist = site / "scikit_learn-99.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: scikit-learn\nVersion: 99.1.0\n")
    with monkeypatch.context() as patch:  # only sys.path: the store's settings stay
        patch.syspath_prepend(str(site))
        upgraded = _run(nb)
    latest = mlops.runs(experiment="diffs").iloc[1]["run_id"]  # the train@v2 run above
    d = mlops.diff(latest, upgraded)
    before = json.loads(client.get_run(latest).data.tags["mlops.packages"])["scikit-learn"]
    assert d.env["packages"]["changed"] == {"scikit-learn": [before, "99.1.0"]}
    _empty_except(d, "env")

    # --json round-trips; the CLI prints the same document.
    assert RunDiff.from_dict(json.loads(json.dumps(d.to_dict()))).to_dict() == d.to_dict()
    capsys.readouterr()
    assert main(["diff", latest, upgraded, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == d.to_dict()
    assert main(["diff", latest, upgraded, "--only", "env"]) == 0
    out = capsys.readouterr().out
    assert "scikit-learn" in out and "== code" not in out and "== params" not in out


def test_missing_pieces_are_said_and_the_rest_compared(store, client, capsys) -> None:  # type: ignore[no-untyped-def]
    mlops.snapshot(pd.DataFrame({"a": [1]}), "train")
    nb = _nb(store.root / "train.ipynb", _base_cells())
    headless = _run(nb, epochs=2)
    with mlops.start_run(name="by hand") as run:  # no notebook: not run from one
        mlops.log_params(lr=0.1, epochs=2)
        mlops.log(acc=0.75)
    mlops.flush()
    d = mlops.diff(headless, "by hand")
    assert d.code is None
    assert any("no stored notebook on by hand" in m for m in d.missing)
    assert any("different experiments" in m for m in d.missing)
    assert {r["key"] for r in d.params} == {"lr"}  # epochs matches: only lr differs
    acc = next(r for r in d.metrics if r["key"] == "acc")
    assert acc["a"] == 0.5 and acc["b"] == 0.75
    assert acc["difference"] == pytest.approx(0.25) and acc["ratio"] == pytest.approx(1.5)
    loss = next(r for r in d.metrics if r["key"] == "loss")
    assert loss["history"]["a"] == [[0, 1.0], [1, 0.5]] and loss["b"] is None
    from jupyter_mlops.widgets.compare_tab import CompareTab

    tab = CompareTab(client, lambda: [])
    assert tab.compare([headless, run.run_id])
    assert "no stored notebook on by hand" in tab.diff_html.value
    assert "<h4>Data</h4>" in tab.diff_html.value and "<h4>Params</h4>" not in tab.diff_html.value
    everything = mlops.diff(headless, run.run_id, all=True)
    assert {r["key"] for r in everything.params} == {"lr", "epochs"}

    # A past run against the notebook file as it is today.
    today = _base_cells()
    today[3] = code(ACC + "\nmlops.log(f1=0.4)")
    _nb(store.root / "today.ipynb", today)
    assert main(["diff", headless, "--against", str(store.root / "today.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "modified code cell a[5] -> b[4]" in out and "+mlops.log(f1=0.4)" in out
    assert "is a file, not a run" in out

    # Mistakes: one line, exit 2.
    assert main(["diff", headless]) == 2
    assert main(["diff", headless, headless, "--only", "code,nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown section nope: choose from code, params" in err
    assert main(["diff", "no-such-run", headless]) == 2
    assert "no run with id or name 'no-such-run'" in capsys.readouterr().err


def test_magic_renders_escaped_html_and_still_diffs_snapshots(ip, store) -> None:  # type: ignore[no-untyped-def]
    with mlops.start_run(name="<script>alert(1)</script>"):
        mlops.log_params(note="<img src=x onerror=alert(2)>")
    with mlops.start_run(name="other"):
        mlops.log_params(note="plain")
    mlops.flush()
    d = ip.run_line_magic("mlops", "diff other <script>alert(1)</script>")
    html = d._repr_html_()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html

    mlops.snapshot(pd.DataFrame({"id": [1, 2]}), "t")
    ip.user_ns["frame"] = pd.DataFrame({"id": [1, 2, 3]})
    report = ip.run_line_magic("mlops", "diff t@v1 frame --key id")
    assert report.rows_added == 1
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="give two runs"):
        ip.run_line_magic("mlops", "diff other")
