"""Run one bench script and record its tables with when, where and under what load.

``python bench/record.py bench/bench_models.py [--repeats 3]`` runs the script (its output is
shown as it goes) and writes ``bench/results/bench_models.md``: a header with the date (UTC),
the machine (CPU count and model, memory), the load average before and after, the command and
the commit, then the script's output (Markdown tables); the previous results move to
``bench_models.DATE.md``. ``python docs/generate.py`` assembles
``docs/benchmarks.md`` from those files; ``make bench`` does both for every script.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine() -> str:
    """``2 CPUs (AMD EPYC ...), 7.8 GiB, Linux 6.1`` for the machine this runs on."""
    return f"{os.cpu_count()} CPUs ({_cpu_model()}), {_memory()}, {platform.system()}"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _keep_previous(path: Path) -> None:
    """Move the last results of a bench to ``NAME.DATE.md`` (its date), unless one is there."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("measured: "):
            earlier = path.with_name(f"{path.stem}.{line.split()[1]}.md")
            if not earlier.exists():
                path.rename(earlier)
            return


def record(script: Path, args: list[str], results: Path = RESULTS) -> int:
    """Run ``script`` with ``args``; on success write ``results/NAME.md`` and return 0."""
    started = dt.datetime.now(dt.timezone.utc)
    load_before = _load()
    proc = subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    if proc.wait() != 0:
        print(
            f"record: {script.name} exited {proc.returncode}; results not written", file=sys.stderr
        )
        return proc.returncode
    header = {
        "script": f"bench/{script.name}",
        "command": " ".join(["python", f"bench/{script.name}", *args]),
        "measured": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load": f"{load_before} before, {_load()} after (1, 5, 15 min)",
        "commit": _commit(),
        "python": platform.python_version(),
        "format": "output",
    }
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in header.items()) + "---\n"
    results.mkdir(exist_ok=True)
    _keep_previous(results / f"{script.stem}.md")
    (results / f"{script.stem}.md").write_text(text + "".join(lines).strip() + "\n", "utf-8")
    print(f"record: wrote {results.name}/{script.stem}.md")
    return 0


def main(argv: list[str]) -> int:
    if not argv or not argv[0].endswith(".py"):
        print("usage: python bench/record.py bench/bench_NAME.py [ARGS...]", file=sys.stderr)
        return 2
    script = Path(argv[0]).resolve()
    if not script.is_file():
        print(f"record: no such bench script {argv[0]!r}", file=sys.stderr)
        return 2
    return record(script, argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
