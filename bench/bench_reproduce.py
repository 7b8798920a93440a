"""Reproduce anywhere: what recording a lock costs a run, and isolated vs plain reproduce.

Measured side by side in one run:
- recording: the lock a run records (``run_lock``: cached per interpreter, the git state of
  local packages read now), the same for a kernel of another environment
  (``interpreter_lock``, cached), and what a user would run otherwise to pin an environment
  (``uv pip freeze`` and ``pip freeze``, each a process), plus our uncached scan;
- reproducing the quickstart notebook's headless run: a plain ``jupyter mlops reproduce``,
  the first ``--isolated`` one (an empty environment cache, uv's own cache warm: uv's figures
  are printed beside ours) and the next ones (the environment cached), each a whole command.

Goals (issue 31): recording <= 30 ms per run; cached isolated <= 1.5x plain; first isolated
<= 30 s.

Usage: ``python bench/bench_reproduce.py [--repeat 3] [--calls 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from jupyter_mlops.tracking.writing import environment_lock

REPO = Path(__file__).resolve().parent.parent


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.1f}"


def _per_call(fn: object, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def recording(calls: int, other_python: str) -> None:
    """The cost of a run's lock against freezing the environment in a process."""
    import uv

    environment_lock.run_lock()  # the first run of an interpreter scans once
    environment_lock.interpreter_lock(other_python)
    freeze_uv = [uv.find_uv_bin(), "pip", "freeze", "--python", sys.executable]
    freeze_pip = [sys.executable, "-m", "pip", "freeze", "--all"]
    rows = [
        (
            "ours: run_lock() (cached, this interpreter)",
            _ms(_per_call(environment_lock.run_lock, calls)),
        ),
        (
            "ours: interpreter_lock(kernel of another env) (cached)",
            _ms(_per_call(lambda: environment_lock.interpreter_lock(other_python), calls)),
        ),
        ("ours: uncached scan of this interpreter", _ms(_per_call(environment_lock._scan, 5))),
        ("uv pip freeze (a process)", _ms(_per_call(lambda: _quiet(freeze_uv), 5))),
        ("pip freeze --all (a process)", _ms(_per_call(lambda: _quiet(freeze_pip), 5))),
    ]
    print_table("Recording the environment of one run (median ms)", ("what", "ms"), rows)
    print(f"\n{len(environment_lock.current_lock().packages)} distributions; goal <= 30 ms per run")


def _quiet(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr}")
    return done


def reproducing(repeat: int, folder: Path, env: dict[str, str]) -> str:
    """Plain, first isolated and cached isolated reproduce of the quickstart's run."""
    cli = [str(Path(sys.executable).with_name("jupyter-mlops"))]
    nb = folder / "quickstart.ipynb"
    shutil.copy(REPO / "example_notebooks" / "quickstart.ipynb", nb)
    ran = _quiet([*cli, "run", str(nb), "-q"], cwd=folder, env=env)
    run_id = ran.stdout.split()[1]  # "run <id> (quickstart) FINISHED in ..."

    def timed(*extra: str) -> tuple[float, dict]:
        start = time.perf_counter()
        done = _quiet([*cli, "reproduce", run_id, "-q", "--json", *extra], cwd=folder, env=env)
        return time.perf_counter() - start, json.loads(done.stdout)

    first_s, first = timed("--isolated")
    compiled = sum(1 for _ in Path(first["isolated"]["path"]).rglob("*.pyc"))
    plain = [timed()[0] for _ in range(repeat)]
    cached = [timed("--isolated")[0] for _ in range(repeat)]
    iso = first["isolated"]
    dist = first["distributions"]
    rows = [
        (
            "jupyter mlops reproduce (plain, today's environment)",
            f"{statistics.median(plain):.2f}",
            "1.00x",
            "",
        ),
        (
            "reproduce --isolated, environment cached",
            f"{statistics.median(cached):.2f}",
            f"{statistics.median(cached) / statistics.median(plain):.2f}x",
            "goal <= 1.5x",
        ),
        (
            "reproduce --isolated, first (empty env cache, uv cache warm)",
            f"{first_s:.2f}",
            f"{first_s / statistics.median(plain):.2f}x",
            f"goal <= 30 s; build {iso['seconds']:.1f} s",
        ),
    ]
    print_table(
        f"Reproducing the quickstart's headless run (median s of {repeat}, whole commands)",
        ("command", "s", "vs plain", "note"),
        rows,
    )
    print(
        f"\nenvironment rebuilt: {dist['at_recorded_version']} of {dist['recorded']} distributions "
        f"at their recorded versions; all metrics matched: {first['ok']}"
    )
    first_build(iso, compiled, Path(folder).parent / "scratch-env", env)
    return str(Path(iso["path"]) / "bin" / "python")


def first_build(iso: dict, compiled: int, scratch: Path, env: dict[str, str]) -> None:
    """The first build: our figure beside uv's own, and bytecode compiled at build time instead.

    The first kernel compiles only the modules it imports (written once, reused by the next
    kernels); ``uv pip install --compile-bytecode`` of the same distributions into a scratch
    environment shows what compiling every file at build time would cost instead.
    """
    import uv

    built = Path(iso["path"])
    rows = [("ours: the whole build (before the kernel starts)", f"{iso['seconds']:.2f}", "")]
    for line in iso["uv"]:
        took = re.search(r" in ([\d.]+)(ms|s)\b", line)
        seconds = float(took[1]) / (1000 if took[2] == "ms" else 1) if took else None
        step = (
            "ours: wheel of the local checkout (uv build)"
            if line.startswith(("Built the", "Reused the"))
            else f"uv pip install: {line.split()[0].lower()}"
        )
        rows.append((step, "" if seconds is None else f"{seconds:.2f}", line))
    rows.append(
        ("ours: bytecode the first kernel compiled as it imported", "", f"{compiled} files (.pyc)")
    )
    frozen = _quiet([uv.find_uv_bin(), "pip", "freeze", "--python", str(built / "bin/python")])
    reqs = scratch.with_suffix(".txt")
    reqs.write_text(frozen.stdout, encoding="utf-8")
    _quiet([uv.find_uv_bin(), "venv", "-q", "--python", str(built / "bin/python"), str(scratch)])
    start = time.perf_counter()
    done = _quiet(
        [uv.find_uv_bin(), "pip", "install", "--no-deps", "--compile-bytecode", "--python",
         str(scratch / "bin/python"), "-r", str(reqs)],
        env={**env, "UV_NO_PROGRESS": "1"},
    )  # fmt: skip
    took = time.perf_counter() - start
    figure = next((ln for ln in done.stderr.splitlines() if ln.startswith("Bytecode")), "")
    rows.append(("uv pip install --compile-bytecode (same env, scratch)", f"{took:.2f}", figure))
    print_table(
        "The first isolated build: ours beside uv's own figures (s)",
        ("step", "s", "uv says"),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    import uv

    uv_cache = _quiet([uv.find_uv_bin(), "cache", "dir"]).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-reproduce-") as tmp:
        folder = Path(tmp) / "project"
        (folder / ".mlops").mkdir(parents=True)
        env = {
            **os.environ,
            "MLOPS_HOME": str(folder),
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),  # our caches start empty
            "UV_CACHE_DIR": uv_cache,  # uv's stays warm, as on a user's machine
        }
        other = reproducing(args.repeat, folder, env)
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        recording(args.calls, other)


if __name__ == "__main__":
    main()
