"""Cache keys: what changes them and what does not."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_mlops.pipelines.cache import code_digest, package_digest, step_key
from jupyter_mlops.testing.notebooks import code, markdown, params, write_notebook

CELLS = [params("lr = 0.1"), markdown("# Train"), code("import math\ny = math.sqrt(lr)")]


def test_outputs_metadata_and_markdown_do_not_change_the_code_digest(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "a.ipynb", CELLS)
    before = code_digest(nb)
    out = [{"output_type": "stream", "name": "stdout", "text": "0.316\n"}]
    write_notebook(nb, [params("lr = 0.1"), markdown("# Training, v2"), CELLS[2]], outputs=out)
    doc = json.loads(nb.read_text())
    doc["metadata"]["widgets"] = {"state": {}}
    doc["cells"][2]["metadata"]["collapsed"] = True
    doc["cells"][2]["execution_count"] = 7
    nb.write_text(json.dumps(doc))
    assert code_digest(nb) == before


def test_code_and_defaults_change_the_code_digest(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "a.ipynb", CELLS)
    before = code_digest(nb)
    write_notebook(nb, [CELLS[0], CELLS[1], code("import math\ny = math.sqrt(lr) + 1")])
    changed_code = code_digest(nb)
    write_notebook(nb, [params("lr = 0.2"), CELLS[1], CELLS[2]])
    changed_default = code_digest(nb)
    assert len({before, changed_code, changed_default}) == 3
    # splitting a cell in two is a different program layout, and a different key
    write_notebook(nb, [CELLS[0], code("import math"), code("y = math.sqrt(lr)")])
    assert code_digest(nb) != before


def test_step_key_depends_on_each_input() -> None:
    base = {
        "kernel": "python3",
        "pins": {"train": "aa"},
        "upstream": {"prep": ["k1"]},
        "packages": "p1",
    }
    key = step_key("c", {"lr": 0.1}, **base)
    assert key == step_key("c", {"lr": 0.1}, **base)
    variants = [
        step_key("c2", {"lr": 0.1}, **base),
        step_key("c", {"lr": 0.2}, **base),
        step_key("c", {"lr": 0.1}, **{**base, "pins": {"train": "bb"}}),
        step_key("c", {"lr": 0.1}, **{**base, "upstream": {"prep": ["k2"]}}),
        step_key("c", {"lr": 0.1}, **{**base, "packages": "p2"}),
        step_key("c", {"lr": 0.1}, **{**base, "kernel": "ir"}),
    ]
    assert len({key, *variants}) == 7
    # parameter order is not significant
    assert step_key("c", {"a": 1, "b": 2}, **base) == step_key("c", {"b": 2, "a": 1}, **base)


def test_package_digest_is_stable_within_a_process() -> None:
    assert package_digest() == package_digest()
    assert len(package_digest()) == 64
