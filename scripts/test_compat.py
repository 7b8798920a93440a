"""The compatibility matrix: the boundary tests again on each end of the supported ranges.

Each environment is made by ``uv`` from the package's declared dependencies (``pyproject.toml``,
extra ``test``), the versions in ``tests/constraints.txt`` for everything else, and the
environment's own pins for MLflow and pandas. The checkout is tested from ``src`` (no build),
with only the tests marked ``compat``: the direct SQL's row-level oracle, the MLflow link,
the runs index and readers, snapshots (pandas). The ``kfp`` environment adds the extra
``kfp`` (and the protobuf and requests it needs) and runs only the KFP export's tests. uv's
cache makes a rebuilt environment seconds; the first build is about half a minute.

Usage::

    python scripts/test_compat.py            # the environments make test runs (DEFAULT)
    python scripts/test_compat.py --all      # every environment, then the table
    python scripts/test_compat.py mlflow-low # one of them
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WHERE = REPO / ".compat"
#: name -> (pins over the declared ranges, whether the rest follows tests/constraints.txt):
#: both ends of MLflow's range, both pandas majors. The lowest MLflow bounds some of its own
#: dependencies below the tested versions (pyarrow<24), so its other versions are resolved.
ENVIRONMENTS = {
    "mlflow-low": (["mlflow==3.10.1", "pandas>=2.2,<2.3"], False),
    "mlflow-high-pandas-2": (["mlflow==3.17.2", "pandas>=2.2,<2.3"], True),
    "mlflow-high-pandas-3": (["mlflow==3.17.2", "pandas>=3,<4"], True),
    # the KFP export's tests: kfp 2.17 needs protobuf<7 and requests 2.33, below the test venv's
    "kfp": (["protobuf>=6,<7", "requests==2.33.0"], True),
}
#: extras an environment adds to ``test``, and the tests it runs instead of the ``compat`` ones
EXTRAS = {"kfp": ["kfp"]}
TESTS = {"kfp": ["tests/integration/test_pipeline_kfp.py"]}
#: what ``make test`` runs: the test venv itself is the newest MLflow on pandas 3, so the
#: lowest MLflow on pandas 2.2 adds the other end of both ranges (``--all`` for the rest);
#: ``kfp`` runs the KFP export on KFP's local runner
DEFAULT = ("mlflow-low", "kfp")


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        sys.exit("test-compat needs uv: pip install 'jupyter-mlops[test]'")
    return found


def build(name: str, pins: list[str], locked: bool) -> Path:
    """The environment ``name`` (made or brought up to date by uv)."""
    env = WHERE / name
    overrides = WHERE / f"{name}.overrides.txt"
    WHERE.mkdir(exist_ok=True)
    overrides.write_text("\n".join(pins) + "\n")
    # the tested versions of everything else; the pinned packages' families come with the pins
    pinned = tuple(re.split(r"[<>=!~ ]", p, maxsplit=1)[0].lower() for p in pins)
    constraints = WHERE / f"{name}.constraints.txt"
    constraints.write_text(
        "".join(
            line
            for line in (REPO / "tests" / "constraints.txt").read_text().splitlines(True)
            if locked and not line.lower().startswith(pinned)
        )
    )
    uv = _uv()
    if not (env / "bin" / "python").exists():
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "-r",
            str(REPO / "pyproject.toml"),
            "--extra",
            "test",
            *(f"--extra={extra}" for extra in EXTRAS.get(name, [])),
            "--constraint",
            str(constraints),
            "--override",
            str(overrides),
        ],
        check=True,
        env={**os.environ, "VIRTUAL_ENV": str(env)},
    )
    return env


def versions(env: Path) -> str:
    """``mlflow X, pandas Y`` as installed in ``env``."""
    code = (
        "import mlflow, pandas; print(f'mlflow {mlflow.__version__}, pandas {pandas.__version__}')"
    )
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def run_tests(env: Path) -> tuple[bool, str]:
    """The ``compat`` tests (or the environment's own) in ``env``; (passed, pytest's summary)."""
    selected = TESTS.get(env.name, ["-m", "compat", "tests"])
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "PATH": f"{env / 'bin'}:{os.environ['PATH']}",
    }
    environ.pop("MLOPS_TEST_STORE", None)
    done = subprocess.run(
        [
            str(env / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            *selected,
        ],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n")
    return done.returncode == 0, lines[-1] if lines else done.stderr.strip()[-200:]


def main(names: list[str]) -> int:
    if names == ["--all"]:
        names = list(ENVIRONMENTS)
    unknown = [n for n in names if n not in ENVIRONMENTS]
    if unknown:
        print(
            f"unknown environment {unknown[0]!r}; known: {', '.join(ENVIRONMENTS)}", file=sys.stderr
        )
        return 2
    rows = []
    for name in names or list(DEFAULT):
        start = time.monotonic()
        env = build(name, *ENVIRONMENTS[name])
        ok, summary = run_tests(env)
        rows.append(
            (
                name,
                versions(env),
                "pass" if ok else "FAIL",
                summary,
                f"{time.monotonic() - start:.0f} s",
            )
        )
        print(f"== {name}: {rows[-1][2]} ({summary})", flush=True)
    print("\n| environment | versions | result | tests | time |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0 if all(r[2] == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
