"""Kernels forked from a preloaded template keep fresh-kernel semantics (real kernels, papermill).

Each test compares what a notebook sees in a forked kernel with what it sees in a kernel
started the usual way (``MLOPS_FORK_KERNELS=0``), or checks one point of a fresh kernel:
its own process and process group, reseeded generators, no state left by the previous
notebook, interrupt / restart / kill, its memory given back, a crash leaving the
template alive, and templates replaced when their environment or preload set changes.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.headless.execution import execute_notebook
from jupyter_mlops.headless.fork.provisioner import ForkedProcess
from jupyter_mlops.headless.fork.templates import (
    FORK_ENV,
    all_templates,
    fork_enabled,
    retire_templates,
)
from jupyter_mlops.testing.notebooks import code, params, write_notebook
from jupyter_mlops.testing.processes import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not fork_enabled({}), reason="kernels are forked on Linux only"),
]

#: what a notebook reports about its own process, as one JSON line
REPORT = (
    "import os, sys, json, random, threading\n"
    "import numpy as np\n"
    "print(json.dumps({\n"
    "  'pid': os.getpid(), 'pgid': os.getpgid(0), 'cwd': os.getcwd(), 'argv0': sys.argv[0],\n"
    "  'path': sys.path, 'main': __name__, 'exe': sys.executable,\n"
    "  'env': {k: v for k, v in os.environ.items()\n"
    "          if k not in ('MLOPS_RUN_ID', 'MLFLOW_RUN_ID', 'JPY_PARENT_PID',\n"
    "                       'MLOPS_FORK_KERNELS')},\n"
    "  'kernel': type(get_ipython().kernel).__name__, 'r': random.random(),\n"
    "  'np': float(np.random.rand()), 'mark': hasattr(np, 'left_by_a_notebook')}))\n"
)


def _report(result: Any) -> dict[str, Any]:
    assert result.status == "FINISHED", result.message()
    cells = json.loads(Path(result.output_path).read_text())["cells"]
    for cell in cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if text.startswith("{"):
                return dict(json.loads(text))
    raise AssertionError("the notebook printed no report")


def _template(root: Path) -> dict[str, Any]:
    found = all_templates(root)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def report_nb(store) -> Path:  # type: ignore[no-untyped-def]
    return write_notebook(
        store.root / "report.ipynb",
        [
            params("seed = None"),
            code(
                "import numpy as np, random\n"
                "if seed is not None:\n    random.seed(seed)\n    np.random.seed(seed)"
            ),
            code(REPORT),
            code("import jupyter_mlops as mlops\nmlops.log(value=len(os.environ['MLOPS_HOME']))"),
            code("np.left_by_a_notebook = True  # module state a next notebook must not see"),
        ],
    )


def test_forked_kernels_are_fresh_and_match_a_launched_kernel(
    store, client, report_nb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(FORK_ENV, "0")
    launched = execute_notebook(report_nb)
    assert all_templates(store.root) == []  # turned off: no template was started
    monkeypatch.delenv(FORK_ENV)
    first, second = execute_notebook(report_nb), execute_notebook(report_nb)
    template = _template(store.root)
    assert template["forks"] == 2 and "numpy" in template["preload"]
    seen = [_report(r) for r in (launched, first, second)]
    # The same notebook sees the same process context whichever way its kernel started.
    for key in ("cwd", "argv0", "path", "main", "exe", "env", "kernel"):
        assert seen[1][key] == seen[0][key] == seen[2][key], key
    # Its own process, in its own process group, neither the template nor each other.
    pids = {s["pid"] for s in seen}
    assert len(pids) == 3 and template["pid"] not in pids
    assert all(s["pgid"] == s["pid"] for s in seen)
    # Unseeded generators differ between children (a template's state would repeat).
    assert seen[1]["r"] != seen[2]["r"] and seen[1]["np"] != seen[2]["np"]
    # The previous notebook set an attribute on a preloaded module: not visible here.
    assert not seen[2]["mark"]
    # The runs record the same things: metrics, params and the kernel.
    runs = [client.get_run(r.run_id) for r in (launched, first, second)]
    assert len({json.dumps(r.data.metrics) for r in runs}) == 1
    assert {r.data.tags["mlops.kernel"] for r in runs} == {"python3"}


def test_seeded_generators_repeat_in_forked_kernels(store, report_nb: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = (_report(execute_notebook(report_nb, {"seed": 7})) for _ in range(2))
    assert (a["r"], a["np"]) == (b["r"], b["np"])
    assert _template(store.root)["forks"] == 2


def test_interrupt_restart_and_kill_act_on_the_forked_kernel(store) -> None:  # type: ignore[no-untyped-def]
    from jupyter_core.utils import run_sync

    from jupyter_mlops.headless.kernel_launch import kernel_manager, kill_kernel, start_kernel

    log = store.root / "kernel.log"
    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    km = kernel_manager("python3", env, str(store.root), str(log))
    start_kernel(km)
    try:
        assert km.provisioner.forked
        first = km.provisioner.pid
        kc = _client(km)
        kc.execute(
            "import time, numpy\nnumpy.state = 1\nprint('sleeping', flush=True)\ntime.sleep(60)"
        )
        wait_until(lambda: _printed(kc, "sleeping"), "the cell to start", poll_s=0)
        run_sync(km.interrupt_kernel)()
        reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        run_sync(km.restart_kernel)(now=True)
        second = km.provisioner.pid
        assert second != first and not Path(f"/proc/{first}").exists()  # gone, not a zombie
        kc.stop_channels()
        kc = _client(km)
        kc.execute("import numpy\nprint('state', hasattr(numpy, 'state'))")
        wait_until(lambda: _printed(kc, "state False"), "the restarted kernel's answer", poll_s=0)
        kc.stop_channels()
    finally:
        kill_kernel(km)
    assert not km.has_kernel
    wait_until(lambda: not Path(f"/proc/{second}").exists(), "the killed kernel to be reaped")
    assert _template(store.root)["children"] == []


def _client(km: Any) -> Any:
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return kc


def _printed(kc: Any, text: str) -> bool:
    """Whether the kernel's next IOPub messages (within half a second) print ``text``."""
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            return False
        if msg["msg_type"] == "stream" and text in msg["content"]["text"]:
            return True


def test_a_crashing_kernel_leaves_the_template_serving(store) -> None:  # type: ignore[no-untyped-def]
    crash = write_notebook(
        store.root / "crash.ipynb",
        [code("import os, jupyter_mlops\nos.kill(os.getpid(), 9)")],  # the next one's preload
    )
    ok = write_notebook(
        store.root / "ok.ipynb", [code("import jupyter_mlops as mlops\nmlops.log(a=1)")]
    )
    result = execute_notebook(crash)
    assert result.status == "KILLED" and "DeadKernelError" in (result.error or "")
    template = _template(store.root)
    assert execute_notebook(ok).status == "FINISHED"
    after = _template(store.root)
    assert after["pid"] == template["pid"] and after["forks"] > template["forks"]


def test_two_pipelines_fork_from_one_template_at_once(store, client) -> None:  # type: ignore[no-untyped-def]
    import jupyter_mlops as mlops
    from jupyter_mlops.testing.notebooks import write_pipeline

    write_notebook(
        store.root / "sq.ipynb",
        [
            params("x = 0"),
            code("import os, jupyter_mlops as mlops\nmlops.log(sq=x * x, pid=os.getpid())"),
        ],
    )
    for name in ("a", "b"):
        write_pipeline(
            store.root / f"{name}.yaml",
            f"name: {name}\nsteps:\n  sq:\n    notebook: sq.ipynb\n    params: {{x: [1, 2, 3]}}\n"
            "    sweep: grid\n",
        )
    execute_notebook(store.root / "sq.ipynb")  # the template exists before both start
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        results[name] = mlops.run_pipeline(store.root / f"{name}.yaml", jobs=2, force=True)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    units = [u for r in results.values() for u in r.units]
    assert len(units) == 6
    assert all(u.status == "ran" for u in units), [(u.label, u.status, u.message) for u in units]
    metrics = [client.get_run(u.run_id).data.metrics for u in units]
    assert sorted(m["sq"] for m in metrics) == [1, 1, 4, 4, 9, 9]
    assert len({m["pid"] for m in metrics}) == 6
    assert _template(store.root)["forks"] >= 7


def test_a_module_the_template_did_not_preload_imports_in_the_child(store) -> None:  # type: ignore[no-untyped-def]
    (store.root / "helper_mod.py").write_text("VALUE = 41\n")
    nb = write_notebook(
        store.root / "local.ipynb",
        [code("import json, helper_mod, sys\nprint(json.dumps({'v': helper_mod.VALUE + 1}))")],
    )
    assert _report(execute_notebook(nb)) == {"v": 42}
    template = _template(store.root)
    assert "helper_mod" not in template["preload"] and template["forks"] == 1


def test_forked_kernels_asked_to_shut_down_exit_cleanly(store) -> None:  # type: ignore[no-untyped-def]
    # ipykernel's exit handler could wait on a control thread still flushing its reply to
    # the shutdown request, past jupyter_client's wait: the kernel then got SIGTERM (exit
    # handlers skipped), about one shutdown in ten.
    from jupyter_core.utils import run_sync

    from jupyter_mlops.headless.kernel_launch import kernel_manager, start_kernel

    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    codes = []
    for _ in range(15):
        km = kernel_manager("python3", env, str(store.root), str(store.root / "kernel.log"))
        start_kernel(km)
        process = km.provisioner.process
        kc = _client(km)
        kc.execute_interactive("x = 1", timeout=60)
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=False)
        codes.append(process.wait(timeout=30))
    assert codes == [0] * 15


def test_a_forked_kernel_collects_the_notebooks_own_cyclic_garbage(store) -> None:  # type: ignore[no-untyped-def]
    # The template's objects are kept out of the collector's sight; the notebook's are not.
    nb = write_notebook(
        store.root / "cycles.ipynb",
        [
            code(
                "import gc, json, weakref\nclass Node: pass\n"
                "node = Node(); node.me = node; ref = weakref.ref(node); del node\n"
                "gc.collect()\nprint(json.dumps({'collected': ref() is None}))"
            )
        ],
    )
    assert _report(execute_notebook(nb)) == {"collected": True}
    assert _template(store.root)["forks"] == 1


def test_preload_changes_and_package_installs_replace_the_template(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    plain = write_notebook(store.root / "plain.ipynb", [code("print('{}')")])
    execute_notebook(plain)
    first = _template(store.root)
    assert first["preload"] == []
    # A notebook importing an allow-listed library: a template preloading it replaces the first.
    nb = write_notebook(store.root / "np.ipynb", [code("import numpy\nprint('{}')")])
    execute_notebook(nb)
    second = _template(store.root)
    assert second["pid"] != first["pid"] and second["preload"] == ["numpy"]
    # A package installed on the import path (its files and metadata, as an installer
    # writes them): the next kernel comes from a new template, which sees it.
    (site / "freshly_installed").mkdir()
    (site / "freshly_installed" / "__init__.py").write_text("VALUE = 3\n")
    info = site / "freshly_installed-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: freshly-installed\nVersion: 1.0\n")
    user = write_notebook(
        store.root / "user.ipynb",
        [code("import numpy, json, freshly_installed as f\nprint(json.dumps({'v': f.VALUE}))")],
    )
    assert _report(execute_notebook(user)) == {"v": 3}
    third = _template(store.root)
    assert third["pid"] != second["pid"] and third["preload"] == ["numpy"]


def test_templates_are_replaced_after_their_forks_and_memory(
    store, report_nb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLOPS_FORK_MAX_FORKS", "2")
    pids = [_report(execute_notebook(report_nb)) for _ in range(3)]
    assert len({p["pid"] for p in pids}) == 3
    last = _template(store.root)
    assert last["forks"] == 1  # the first template retired after two forks
    retire_templates(store.root)
    monkeypatch.setenv("MLOPS_FORK_MAX_MB", "1")
    monkeypatch.delenv("MLOPS_FORK_MAX_FORKS")
    _report(execute_notebook(report_nb))
    # Over its memory bound after forking: it answered, then left for a successor.
    wait_until(
        lambda: all_templates(store.root) == [], "the template over its memory bound to exit"
    )


def test_worker_status_shows_the_template_and_stop_retires_it(
    store, report_nb: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from jupyter_mlops.cli import main

    assert main(["worker", "status"]) == 0
    assert "no kernel template is running" in capsys.readouterr().out
    _report(execute_notebook(report_nb))
    pid = _template(store.root)["pid"]
    assert main(["worker", "status"]) == 0
    out = capsys.readouterr().out
    assert f"kernel template pid {pid} (python3) for {store.root}: 1/" in out
    assert "preloaded: numpy" in out
    assert main(["worker", "stop"]) == 0
    assert f"stopped kernel template pid {pid}" in capsys.readouterr().out
    assert all_templates(store.root) == []


def test_a_pipelines_preload_reaches_its_steps_template(store) -> None:  # type: ignore[no-untyped-def]
    import jupyter_mlops as mlops
    from jupyter_mlops.testing.notebooks import write_pipeline

    write_notebook(store.root / "one.ipynb", [code("import jupyter_mlops as m\nm.log(a=1)")])
    path = write_pipeline(
        store.root / "pipeline.yaml",
        "name: p\npreload: [decimal, fractions]\nsteps:\n  one:\n    notebook: one.ipynb\n",
    )
    result = mlops.run_pipeline(path)
    assert [u.status for u in result.units] == ["ran"]
    # the pipeline's list first, then what the step's own imports call for
    assert _template(store.root)["preload"] == [
        "decimal",
        "fractions",
        "jupyter_mlops.tracking.api",
    ]


def test_a_retried_fork_request_gets_the_same_kernel_not_a_second(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A client that missed the template's reply asks again; a second kernel on the same
    # connection file would take the first one's sockets (its messages then went missing).
    import signal
    import sys

    from jupyter_client.connect import write_connection_file

    from jupyter_mlops.headless.fork.templates import ForkRequest, fork_kernel
    from jupyter_mlops.liveness import process_alive

    execute_notebook(write_notebook(store.root / "warm.ipynb", [code("1")]))  # the template
    before = _template(store.root)["forks"]
    connection, _ = write_connection_file(
        str(tmp_path / "kernel.json"), transport="ipc", ip=str(tmp_path / "k")
    )
    env = {**os.environ, "JPY_PARENT_PID": str(os.getpid())}
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection]
    with (tmp_path / "kernel.log").open("ab") as log:
        request = ForkRequest(argv, env, str(store.root), log.fileno(), "python3", [])
        first, again = fork_kernel(request), fork_kernel(request)
    assert first is not None and again is not None
    os.close(first[1])  # the client gave up on the first reply
    pid = first[0]
    try:
        assert again[0] == pid
        assert _template(store.root)["forks"] == before + 1
    finally:
        os.killpg(pid, signal.SIGKILL)
        # the exit code reaches the pipe of the request that got the kernel
        assert ForkedProcess(pid, again[1]).wait() == -signal.SIGKILL
        assert not process_alive(pid)


def test_a_forked_kernels_exit_code_is_its_own(store) -> None:  # type: ignore[no-untyped-def]
    # A launched kernel's Popen reports how it ended; so does a forked one, although the
    # template, not this process, is its parent.
    from jupyter_core.utils import run_sync

    from jupyter_mlops.headless.kernel_launch import kernel_manager, start_kernel

    env = {**os.environ, "MLOPS_HOME": str(store.root)}
    codes = {}
    for how, cell in {"os._exit(3)": "import os\nos._exit(3)", "exit()": "exit()"}.items():
        km = kernel_manager("python3", env, str(store.root), str(store.root / "kernel.log"))
        start_kernel(km)
        process = km.provisioner.process
        assert km.provisioner.forked and isinstance(process, ForkedProcess)
        kc = _client(km)
        kc.execute(cell)
        codes[how] = process.wait(timeout=60)
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
    assert codes == {"os._exit(3)": 3, "exit()": 0}
