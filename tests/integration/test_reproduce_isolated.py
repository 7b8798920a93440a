"""``reproduce --isolated``: the run's recorded environment rebuilt by real uv, a real kernel in it.

The run is recorded with a kernel of its own environment (a uv virtual environment made
here: everything the test venv has, plus a small pure-Python distribution at 1.0 from a
local wheel folder and a local editable package with uncommitted changes). Then that
environment moves on (2.0, and more edits): a plain reproduce sees the difference, the
isolated one installs what ran.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.headless.isolation.env_cache import cache_root, list_cached
from jupyter_mlops.headless.isolation.install_plan import plan_install
from jupyter_mlops.headless.isolation.local_wheels import cached_wheel
from jupyter_mlops.headless.isolation.uv_env import UvEnv
from jupyter_mlops.testing.notebooks import code, write_notebook
from jupyter_mlops.tracking.writing.environment_lock import (
    LOCK_ARTIFACT,
    EnvironmentLock,
    LockedPackage,
    current_lock,
    parse_lock,
)

pytestmark = pytest.mark.integration

PROBE = "jmlops-probe-toy"  # a distribution no index has: only the test's wheel folder
LOCAL = "jmlops-local-toy"


def _wheel(folder: Path, version: str) -> Path:
    """A pure-Python wheel of ``PROBE`` at ``version`` (zip layout of the wheel spec)."""
    module = PROBE.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {PROBE}\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in {**files, f"{info}/RECORD": "\n".join(record) + "\n"}.items():
            wheel.writestr(name, text)
    return path


def _local_package(folder: Path) -> Path:
    """A git checkout of ``LOCAL`` whose working tree has an uncommitted change."""
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        f'[project]\nname = "{LOCAL}"\nversion = "0.1"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["jmlops_local_toy"]\n'
    )
    (folder / "jmlops_local_toy").mkdir()
    source = folder / "jmlops_local_toy" / "__init__.py"
    source.write_text('VALUE = "committed"\n')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "."], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-qm", "first"], check=True)
    return folder


def _uv(*args: str, env: Path) -> None:
    import uv

    subprocess.run(
        [uv.find_uv_bin(), *args],
        check=True,
        capture_output=True,
        env={**os.environ, "VIRTUAL_ENV": str(env)},
    )


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A kernel spec starting a uv environment of its own (made once for the file)."""
    import uv

    base = tmp_path_factory.mktemp("kernel-env")
    wheels = base / "wheels"
    wheels.mkdir()
    _wheel(wheels, "1.0")
    _wheel(wheels, "2.0")
    local = _local_package(base / "local-toy")
    env = base / "venv"
    subprocess.run(
        [uv.find_uv_bin(), "venv", "-q", "--python", current_lock().executable, str(env)],
        check=True,
    )
    reqs = base / "requirements.txt"
    reqs.write_text(current_lock().requirements())  # what this test venv runs, exactly
    _uv("pip", "install", "-q", "--no-deps", "-r", str(reqs), env=env)
    _uv("pip", "install", "-q", "--no-deps", "-e", str(local), env=env)
    spec = base / "jupyter" / "kernels" / "probe-env"
    spec.mkdir(parents=True)
    argv = [str(env / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "language": "python", "display_name": "probe"})
    )
    uv_cache = subprocess.run(
        [uv.find_uv_bin(), "cache", "dir"], capture_output=True, text=True, check=True
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(base / "jupyter"))
        mp.setenv("UV_CACHE_DIR", uv_cache.stdout.strip())  # uv's own warm cache, not the test's
        yield {"env": env, "wheels": wheels, "local": local}


NOTEBOOK = (
    "import jupyter_mlops as mlops, jmlops_probe_toy, jmlops_local_toy\n"
    "mlops.log(probe=float(jmlops_probe_toy.__version__), "
    "local_dirty=float(jmlops_local_toy.VALUE == 'dirty'))"
)


def _install_probe(kernel_env: dict[str, Path], version: str) -> None:
    wheels = str(kernel_env["wheels"])
    _uv(
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--find-links",
        wheels,
        f"{PROBE}=={version}",
        env=kernel_env["env"],
    )


def _recorded_run(store, client, kernel_env, tmp_path: Path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """A run of the probe notebook with 1.0 installed and the local package dirty."""
    _install_probe(kernel_env, "1.0")
    (kernel_env["local"] / "jmlops_local_toy" / "__init__.py").write_text('VALUE = "dirty"\n')
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # our caches: the test's own
    nb = write_notebook(store.root / "probe.ipynb", [code(NOTEBOOK)])
    assert main(["run", str(nb), "--kernel", "probe-env", "-q"]) == 0
    (run,) = client.search_runs([client.get_experiment_by_name("probe").experiment_id])
    assert run.data.metrics == {"probe": 1.0, "local_dirty": 1.0}
    return run.info.run_id


def test_isolated_reproduce_installs_what_ran_and_reuses_its_environment(
    store, client, kernel_env, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _recorded_run(store, client, kernel_env, tmp_path, monkeypatch)
    lock = parse_lock(Path(client.download_artifacts(run_id, LOCK_ARTIFACT)).read_text())
    assert lock.versions[PROBE] == "1.0"  # the kernel's interpreter, not this process's
    assert lock.executable == str(kernel_env["env"] / "bin" / "python")
    local = next(p for p in lock.packages if p.name == LOCAL)
    assert local.source["dirty"] is True and local.source["archive"].endswith(".tar.gz")

    # the kernel's environment moves on: 2.0, and the local package edited again
    _uv(
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--find-links",
        str(kernel_env["wheels"]),
        f"{PROBE}==2.0",
        env=kernel_env["env"],
    )
    (kernel_env["local"] / "jmlops_local_toy" / "__init__.py").write_text('VALUE = "later"\n')
    capsys.readouterr()

    assert main(["reproduce", run_id, "-q", "--json"]) == 1
    plain = json.loads(capsys.readouterr().out)
    assert {"what": PROBE, "original": "1.0", "reproduced": "2.0"} in plain["environment"]
    assert {m["key"]: m["reproduced"] for m in plain["metrics"]} == {
        "probe": 2.0,
        "local_dirty": 0.0,
    }

    links = ["--find-links", str(kernel_env["wheels"])]
    assert main(["reproduce", run_id, "--isolated", *links, "-q", "--keep-env"]) == 0
    out = capsys.readouterr().out
    total = len(lock.packages)
    assert (
        f"environment rebuilt: {total} of {total} distributions at their recorded versions" in out
    )
    assert "built environment" in out and "uv: Installed" in out
    fresh = client.get_run(_newest(client, "probe"))
    assert fresh.data.tags["reproduces"] == run_id
    assert fresh.data.metrics == {"probe": 1.0, "local_dirty": 1.0}  # read inside the kernel
    (cached,) = list_cached()
    assert f"environment: {cached.path}" in out and cached.path.parent == cache_root()
    assert fresh.data.tags["mlops.reproduce.environment"] == cached.key

    assert main(["reproduce", run_id, "--isolated", *links, "-q", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (
        again["ok"]
        and again["isolated"]["reused"] is True
        and again["isolated"]["key"] == cached.key
    )

    assert main(["env", "cache"]) == 0
    listing = capsys.readouterr().out
    assert cached.key in listing and "1 environment(s)" in listing
    # uv hard-links the installed files from its cache: most bytes are not the environment's
    assert 0 < cached.own_bytes < cached.size_bytes / 2
    assert "--clear frees" in listing
    assert main(["env", "cache", "--clear"]) == 0
    assert "removed 1 cached environment(s)" in capsys.readouterr().out
    assert list_cached() == [] and not cached.path.exists()


def _newest(client, experiment: str) -> str:  # type: ignore[no-untyped-def]
    eid = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([eid], order_by=["attributes.start_time DESC"])[0].info.run_id


def test_a_distribution_no_index_has_exits_2_naming_it_before_executing(
    store, client, kernel_env, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _recorded_run(store, client, kernel_env, tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(["reproduce", run_id, "--isolated", "-q"]) == 2  # no --find-links: no wheel
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{PROBE}==1.0" in err and "--allow-missing" in err
    eid = client.get_experiment_by_name("probe").experiment_id
    assert len(client.search_runs([eid])) == 1  # nothing executed
    assert list_cached() == [] and not any(p.is_dir() for p in cache_root().iterdir())

    # --allow-missing builds without it, says so, and the notebook then fails to import it
    assert main(["reproduce", run_id, "--isolated", "--allow-missing", "-q", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (skipped,) = report["isolated"]["skipped"]
    assert skipped["name"] == PROBE and skipped["version"] == "1.0"
    assert report["status"] == "FAILED"
    (cached,) = list_cached()
    assert cached.skipped == (PROBE,)
    # the environment remembers what it lacks: without --allow-missing it is refused again
    assert main(["reproduce", run_id, "--isolated", "-q"]) == 2
    assert f"{PROBE}==1.0" in capsys.readouterr().err


def test_a_clean_local_checkout_is_built_into_a_wheel_once_per_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uv

    uv_cache = subprocess.run(
        [uv.find_uv_bin(), "cache", "dir"], capture_output=True, text=True, check=True
    )
    monkeypatch.setenv("UV_CACHE_DIR", uv_cache.stdout.strip())  # hatchling from uv's cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = _local_package(tmp_path / "local-toy")
    commit = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    source = {"kind": "directory", "path": str(folder), "commit": commit, "dirty": False}
    lock = EnvironmentLock(
        "3", "CPython", "Linux", "python", (LockedPackage(LOCAL, "0.1", source),)
    )
    build = UvEnv(uv.find_uv_bin(), tmp_path / "env")

    (local,) = plan_install(lock, {}).local.values()
    wheel, how = cached_wheel(build, local)
    assert wheel is not None and how.startswith(f"Built the {LOCAL} wheel of {commit[:12]}")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("jmlops_local_toy/__init__.py") == b'VALUE = "committed"\n'
    assert cached_wheel(build, local) == (
        wheel,
        f"Reused the {LOCAL} wheel of {commit[:12]} built earlier",
    )

    (folder / "jmlops_local_toy" / "__init__.py").write_text('VALUE = "second"\n')
    assert plan_install(lock, {}).local == {}  # uncommitted: left to uv, never cached
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(folder)]
    subprocess.run([*git, "commit", "-qam", "second"], check=True)
    (later,) = plan_install(lock, {}).local.values()
    second, how = cached_wheel(build, later)
    assert second is not None and second != wheel and how.startswith("Built")
    with zipfile.ZipFile(second) as zf:
        assert zf.read("jmlops_local_toy/__init__.py") == b'VALUE = "second"\n'

    (folder / "pyproject.toml").write_text("[project]\nname = \n")  # committed, but not buildable
    subprocess.run([*git, "commit", "-qam", "broken"], check=True)
    (broken,) = plan_install(lock, {}).local.values()
    assert cached_wheel(build, broken) == (None, f"Could not build the {LOCAL} wheel of "
        f"{broken.commit[:12]}: uv installs the folder")  # fmt: skip


PIPELINE = """
name: twoenv
steps:
  m:
    notebook: m.ipynb
    params: {x: [1, 2]}
    sweep: grid
  d:
    notebook: d.ipynb
    kernel: probe-env
    needs: [m]
"""


def test_a_pipeline_run_is_reproduced_in_one_environment_per_distinct_lock(
    store, client, kernel_env, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_mlops.testing.notebooks import params, write_pipeline

    _install_probe(kernel_env, "1.0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = store.root
    write_notebook(
        root / "m.ipynb", [params("x = 0"), code("import jupyter_mlops as mlops\nmlops.log(m=x)")]
    )
    write_notebook(
        root / "d.ipynb",
        [
            code(
                "import jupyter_mlops as mlops, jmlops_probe_toy\n"
                "mlops.log(seen=len(mlops.upstream('m')),\n"
                "          probe=float(jmlops_probe_toy.__version__))"
            )
        ],
    )
    assert (
        main(["pipeline", "run", str(write_pipeline(root / "pipeline.yaml", PIPELINE)), "-q"]) == 0
    )
    exp = client.get_experiment_by_name("twoenv").experiment_id
    (parent,) = client.search_runs([exp], "tags.`mlops.pipeline.role` = 'parent'")
    before = len(client.search_runs([exp]))
    _install_probe(kernel_env, "2.0")  # the step's environment moves on
    capsys.readouterr()
    assert main(["reproduce", parent.info.run_id, "-o", "out.ipynb"]) == 2
    assert capsys.readouterr().err.count("\n") == 1  # one notebook named for three units

    # d's lock names a wheel no index has: nothing executes, not even m's units
    assert main(["reproduce", parent.info.run_id, "--isolated", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{PROBE}==1.0" in err
    assert len(client.search_runs([exp])) == before

    links = ["--find-links", str(kernel_env["wheels"])]
    assert main(["reproduce", parent.info.run_id, "--isolated", *links, "-q", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    units = {u["label"]: u for u in report["units"]}
    assert set(units) == {"m[x=1]", "m[x=2]", "d"} and report["ok"]
    reproduced = {label: client.get_run(u["run_id"]).data.metrics for label, u in units.items()}
    assert reproduced == {
        "m[x=1]": {"m": 1.0},
        "m[x=2]": {"m": 2.0},
        "d": {"seen": 2.0, "probe": 1.0},
    }
    envs = {tuple(e["units"]): e for e in report["environments"]}
    assert set(envs) == {("m[x=1]", "m[x=2]"), ("d",)}  # two distinct locks, each built once
    assert envs[("m[x=1]", "m[x=2]")]["reused"] is True  # built by the refused call before
    assert envs[("d",)]["reused"] is False
    assert {u["isolated"]["key"] for u in units.values()} == {e["key"] for e in envs.values()}
    assert len(list_cached()) == 2
