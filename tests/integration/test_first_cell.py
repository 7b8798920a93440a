"""A newcomer's first cell, in fresh kernels: the warm-up thread and the cell's hooks never race."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_mlops import warm_imports

pytestmark = [pytest.mark.integration, pytest.mark.store_free]

#: the cell that printed "Error in callback <function _on_post_run_cell ...>" (issue 27)
FIRST_CELL = """\
import pandas as pd
import jupyter_mlops as mlops
%load_ext jupyter_mlops
df = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})"""

KERNELS = 20


def _run(kc, code: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Execute ``code``; every stream/error/display message it produced."""
    outputs: list[dict] = []

    def keep(msg: dict) -> None:
        if msg["msg_type"] in ("stream", "error", "display_data", "execute_result"):
            outputs.append({"type": msg["msg_type"], **msg["content"]})

    reply = kc.execute_interactive(code, output_hook=keep, timeout=120)
    outputs.append({"type": "reply", "status": reply["content"]["status"]})
    return outputs


def test_first_cell_prints_nothing_in_fresh_kernels(tmp_path: Path) -> None:
    failures = []
    for attempt in range(KERNELS):
        project = tmp_path / f"project-{attempt}"
        (project / ".mlops").mkdir(parents=True)
        env = {**os.environ, "MLOPS_HOME": str(project)}
        km, kc = start_new_kernel(kernel_name="python3", cwd=str(project), env=env)
        try:
            first = _run(kc, FIRST_CELL)
            second = _run(kc, "print(len(df), mlops.__name__)")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        if first != [{"type": "reply", "status": "ok"}]:
            failures.append((attempt, first))
        assert second == [
            {"type": "stream", "name": "stdout", "text": "3 jupyter_mlops\n"},
            {"type": "reply", "status": "ok"},
        ]
    assert failures == [], f"{len(failures)} of {KERNELS} first cells printed: {failures[:2]}"


def test_a_half_imported_module_is_waited_for(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "slow_mlops_module.py").write_text(
        textwrap.dedent(
            """
            import threading
            started = threading.Event()
            release = threading.Event()
            started.set()
            release.wait(30)
            ready = "yes"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_mlops_module", raising=False)

    def warm_up() -> None:
        with warm_imports.importing():
            warm_imports.load("slow_mlops_module")

    thread = threading.Thread(target=warm_up, daemon=True)
    thread.start()
    while "slow_mlops_module" not in sys.modules:
        thread.join(0.01)
    half = sys.modules["slow_mlops_module"]
    half.started.wait(30)
    assert not hasattr(half, "ready")  # what the post-run hook used to read
    assert warm_imports.loaded("slow_mlops_module") is None

    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(warm_imports.load("slow_mlops_module")))
    waiter.start()
    waiter.join(0.3)
    assert got == []  # still waiting for the importing thread
    half.release.set()
    waiter.join(30)
    thread.join(30)
    assert got == [half]
    assert warm_imports.loaded("slow_mlops_module").ready == "yes"
