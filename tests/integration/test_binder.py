"""A clean install: the wheel alone, then Binder's environment, each in a fresh venv.

First the wheel: ``pip wheel .`` on the files a clone has, then ``pip install`` of that wheel
(and its declared dependencies, nothing else) in a fresh virtual environment: every module of
the package imports, and JupyterLab lists the prebuilt labextension and the enabled server
extension.

Then Binder, in the same environment (its requirements add nothing the wheel did not bring,
so the install is shared): repo2docker installs ``binder/requirements.txt``, copies the
repository, runs ``binder/postBuild`` from its root and starts Jupyter. Here the same happens
without Docker, with a private ``HOME``; pip's wheel cache is shared so repeated runs do not
download again. Then every example notebook is executed with that environment's papermill
and kernel.

Slow (minutes): ``pytest -m "not binder"`` skips it; ``make test`` runs it once, in the
embedded-store pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clean_venv import checkout, create, listing
from tests.clean_venv import run as _run

# Binder launches on the embedded store whatever the session's store (MLOPS_*/MLFLOW_* are
# cleared), so the team pass would only build the same environment again.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.binder,
    pytest.mark.sqlite_only,
    pytest.mark.timeout(1800),  # the module's fixture builds and installs a wheel first
]

NOTEBOOKS = ["quickstart.ipynb", "data_versioning.ipynb", "model_registry.ipynb", "reproduce.ipynb"]


#: modules that need an optional extra (not in the wheel's own dependencies) and the one
#: line they raise on import without it
NEEDS_EXTRA = {
    "jupyter_mlops.pipelines.kfp.component": (
        "the KFP export needs the kfp SDK: pip install 'jupyter-mlops[kfp]'"
    ),
}

#: what every module of the installed package does on import, as JSON
IMPORT_ALL = """
import importlib, json, pkgutil, jupyter_mlops
names = [m.name for m in pkgutil.walk_packages(jupyter_mlops.__path__, "jupyter_mlops.")]
failed = {}
for name in names:
    if not name.endswith("__main__"):  # running those starts the CLI or a worker
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"file": jupyter_mlops.__file__, "modules": names, "failed": failed}))
"""


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("install")
    repo = checkout(base / "repo")
    env = create(base)
    dist = base / "dist"
    _run(["python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), "."], repo, env)
    (wheel,) = dist.glob("jupyter_mlops-*.whl")
    _run(["python", "-m", "pip", "install", "-q", str(wheel)], repo, env)
    return repo, env


def test_every_module_imports_from_the_wheel_alone(wheel_env: tuple[Path, dict[str, str]]) -> None:
    repo, env = wheel_env
    found = json.loads(_run(["python", "-c", IMPORT_ALL], repo, env))
    assert found["file"].startswith(env["VIRTUAL_ENV"]), "imported from the checkout, not the wheel"
    source = repo / "src"
    expected = {
        ".".join(p.relative_to(source).with_suffix("").parts).removesuffix(".__init__")
        for p in (source / "jupyter_mlops").rglob("*.py")
    } - {"jupyter_mlops"}
    assert set(found["modules"]) == expected  # the wheel holds every module of the source
    failed = dict(found["failed"])
    for name, hint in NEEDS_EXTRA.items():  # without its extra, a module says how to get it
        if name in failed:
            assert failed.pop(name) == f"MlopsError: {hint}"
    assert failed == {}


def test_the_wheel_gives_the_labextension_and_the_enabled_server_extension(
    wheel_env: tuple[Path, dict[str, str]],
) -> None:
    repo, env = wheel_env
    lab = listing(["jupyter", "labextension", "list"], repo, env)
    assert any("jupyter-mlops" in line and "enabled" in line and "OK" in line for line in lab), lab
    server = listing(["jupyter", "server", "extension", "list"], repo, env)
    assert any("jupyter_mlops" in line and "enabled" in line for line in server), server
    assert any("jupyter_mlops" in line and "OK" in line for line in server), server


@pytest.fixture(scope="module")
def binder_env(wheel_env: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    repo, env = wheel_env
    _run(["python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], repo, env)
    _run(["bash", "binder/postBuild"], repo, env)
    return repo, {**env, "MLOPS_HOME": str(repo)}  # the launched repository is the root


def test_postbuild_activates_the_extension_and_opens_the_quickstart(
    binder_env: tuple[Path, dict[str, str]],
) -> None:
    repo, env = binder_env
    venv = Path(env["VIRTUAL_ENV"])
    where = _run(["python", "-c", "import jupyter_mlops; print(jupyter_mlops.__file__)"], repo, env)
    assert where.strip().startswith(str(venv)), (
        "the package must be installed, not imported from the checkout"
    )
    for argv, name in ((["server", "extension", "list"], "jupyter_mlops"),
                       (["labextension", "list"], "jupyter-mlops")):  # fmt: skip
        shown = listing(["jupyter", *argv], repo, env)
        assert any(name in line and "enabled" in line for line in shown), shown
    config = (
        Path(env["HOME"]) / ".jupyter" / "jupyter_server_config.d" / "jupyter-mlops-binder.json"
    )
    url = json.loads(config.read_text())["ServerApp"]["default_url"]
    assert (repo / url.removeprefix("/lab/tree/")).is_file()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_example_runs_in_the_binder_environment(
    binder_env: tuple[Path, dict[str, str]], notebook: str
) -> None:
    repo, env = binder_env
    folder = repo / "example_notebooks"
    out = folder / notebook.replace(".ipynb", ".out.ipynb")
    _run(
        ["papermill", "--log-level", "WARNING", "--cwd", str(folder), notebook, str(out)],
        folder,
        env,
    )
    cells = json.loads(out.read_text())["cells"]
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_pipeline_runs_and_reruns_cached_in_the_binder_environment(
    binder_env: tuple[Path, dict[str, str]],
) -> None:
    repo, env = binder_env
    argv = ["jupyter", "mlops", "pipeline", "run", "example_notebooks/pipeline/pipeline.yaml"]
    first = json.loads(_run([*argv, "--quiet", "--json"], repo, env))
    assert all(u["status"] in ("ran", "cached") for u in first["units"])
    second = json.loads(_run([*argv, "--quiet", "--json"], repo, env))
    assert [u["status"] for u in second["units"]] == ["cached"] * len(first["units"])
