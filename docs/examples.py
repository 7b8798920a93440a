"""Render the example notebooks into the documentation site, executed.

Each example is copied into its own empty project under ``build/docs-examples/`` and run the
way a user runs it (``jupyter mlops run NOTEBOOK``; the pipeline with ``jupyter mlops pipeline
run``), then converted to Markdown with nbconvert into ``docs/examples/NAME.md`` (images beside
it), which mkdocs builds. A page records the digest of the files it was made from (and of this
script); an example whose files did not change is neither executed nor rendered again, so a
second ``make docs`` starts no kernel.

Usage::

    python docs/examples.py           # render what changed (re-execute what changed)
    python docs/examples.py --force   # execute and render every example again
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
SOURCE = REPO / "example_notebooks"
BUILD = REPO / "build" / "docs-examples"
OUT = DOCS / "examples"
BLOB = "https://github.com/jupyter-mlops/jupyter-mlops/blob/main/example_notebooks"
MARK = "<!-- example digest: "


@dataclass(frozen=True)
class Example:
    """One example page: the notebook (or the pipeline folder) it renders and its title."""

    name: str
    title: str
    path: str  # relative to example_notebooks/

    @property
    def pipeline(self) -> bool:
        return self.path.endswith(".yaml")


EXAMPLES = (
    Example("quickstart", "Quickstart", "quickstart.ipynb"),
    Example("data_versioning", "Data versioning", "data_versioning.ipynb"),
    Example("model_registry", "Model registry", "model_registry.ipynb"),
    Example("pipeline", "Pipeline", "pipeline/pipeline.yaml"),
    Example("reproduce", "Reproduce", "reproduce.ipynb"),
    Example("monitoring", "Monitoring", "monitoring.ipynb"),
    Example("production_loop", "Production loop", "production_loop/loop.ipynb"),
)


def _inputs(example: Example) -> list[Path]:
    if example.pipeline or "/" in example.path:  # a folder: the notebooks beside it count too
        return sorted((SOURCE / example.path).parent.glob("*"))
    return [SOURCE / example.path]


def digest(example: Example) -> str:
    """A digest of the files the page is made from."""
    h = hashlib.sha256()
    for path in _inputs(example):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _stamp(example: Example) -> str:
    """What a page records: the digest of its example and of this renderer."""
    renderer = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    return f"{digest(example)}-{renderer}"


def _is_current(example: Example) -> bool:
    page = OUT / f"{example.name}.md"
    if not page.exists():
        return False
    with page.open(encoding="utf-8") as f:
        first = f.readline()
    return first.startswith(MARK) and first[len(MARK) :].split()[0] == _stamp(example)


def _executed(example: Example, force: bool) -> tuple[list[tuple[str, Path]], str]:
    """The executed notebooks of ``example``: kept from an earlier build if its files match."""
    kept = BUILD / f"{example.name}.json"
    if not force and kept.exists():
        record = json.loads(kept.read_text(encoding="utf-8"))
        notebooks = [(label, Path(path)) for label, path in record["notebooks"]]
        if record["digest"] == digest(example) and all(p.exists() for _, p in notebooks):
            return notebooks, record["printed"]
    print(f"examples: executing {example.path}", flush=True)
    notebooks, printed = _execute(example)
    record = {"digest": digest(example), "printed": printed}
    record["notebooks"] = [[label, str(path)] for label, path in notebooks]
    kept.write_text(json.dumps(record), encoding="utf-8")
    return notebooks, printed


def _run(args: list[str], cwd: Path) -> str:
    """Run a ``jupyter-mlops`` command in ``cwd`` (its own store); return its output."""
    env = dict(os.environ)
    for name in ("MLFLOW_TRACKING_URI", "MLOPS_DATA_URI", "MLOPS_EXPERIMENT"):
        env.pop(name, None)
    env["MLOPS_HOME"] = str(cwd)
    # One run per project: a warm worker or a kernel template would only linger (idle, each
    # holding its preloaded libraries) after the build.
    env["MLOPS_NO_WORKER"] = "1"
    env["MLOPS_FORK_KERNELS"] = "0"
    # The scoring server the examples start needs the environment's scripts on PATH.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cli = [sys.executable, "-c", "import sys; from jupyter_mlops.cli import main; sys.exit(main())"]
    done = subprocess.run(
        [*cli, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"examples: `jupyter mlops {' '.join(args)}` failed in {cwd}:\n"
            f"{done.stdout}{done.stderr}"
        )
    return done.stdout


def _project(example: Example) -> Path:
    project = BUILD / example.name
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(SOURCE, project, ignore=shutil.ignore_patterns("*.out.ipynb", ".mlops"))
    (project / ".mlops").mkdir()
    return project


def _execute(example: Example) -> tuple[list[tuple[str, Path]], str]:
    """Execute ``example`` in a fresh project: (title, executed notebook) pairs, CLI output."""
    project = _project(example)
    if not example.pipeline:
        out = project / "executed" / example.path
        _run(["run", example.path, "--output", str(out), "--quiet"], project)
        return [(example.path, out)], ""
    printed = _run(["pipeline", "run", example.path], project)
    # Each step run keeps its executed notebook under artifacts/output/; one of each step.
    found: dict[str, Path] = {}
    for nb in sorted(project.glob(".mlops/artifacts/**/output/*.ipynb")):
        found.setdefault(nb.name, nb)
    import yaml

    folder = (SOURCE / example.path).parent
    spec = yaml.safe_load((SOURCE / example.path).read_text(encoding="utf-8"))
    order = [step["notebook"] for step in spec["steps"].values()]  # the file's step order
    steps = [name for name in order if name in found]
    return [(f"{folder.name}/{name}", found[name]) for name in steps], printed


def _markdown(notebook: Path, files: str, down: int) -> tuple[str, dict[str, bytes]]:
    import nbformat
    from nbconvert import MarkdownExporter

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:  # the page has its own title: the notebook's headings go down
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"^(#{1,4}) ", "#" * down + r"\1 ", cell.source, flags=re.M)
    exporter = MarkdownExporter()
    body, resources = exporter.from_notebook_node(
        nb,
        resources={"output_files_dir": files, "unique_key": files},
    )
    return body, resources.get("outputs", {})


def render(example: Example, force: bool = False) -> None:
    """Write the page (and images) of ``example`` under ``docs/examples/``, executed."""
    notebooks, printed = _executed(example, force)
    shutil.rmtree(OUT / f"{example.name}_files", ignore_errors=True)
    head = [
        f"{MARK}{_stamp(example)} (docs/examples.py: do not edit) -->",
        f"# {example.title}",
        "",
        f"[`example_notebooks/{example.path}`]({BLOB}/{example.path}), executed headless with",
        (
            f"`jupyter mlops pipeline run {example.path}`"
            if example.pipeline
            else f"`jupyter mlops run {example.path}`"
        )
        + " on an empty store when the site was built.",
        "",
    ]
    parts = ["\n".join(head)]
    if example.pipeline:
        spec = (SOURCE / example.path).read_text(encoding="utf-8")
        parts.append(f"```yaml\n{spec.rstrip()}\n```\n")
        parts.append(
            f"```text\n$ jupyter mlops pipeline run {example.path}\n{printed.rstrip()}\n```\n"
        )
    for label, notebook in notebooks:
        files = f"{example.name}_files/{Path(label).stem}"
        body, images = _markdown(notebook, files, down=2 if example.pipeline else 1)
        if example.pipeline:
            parts.append(f"## {label}\n\n{body}")
        else:
            parts.append(body)
        for name, data in images.items():
            target = OUT / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{example.name}.md").write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the example notebooks, executed.")
    parser.add_argument("--force", action="store_true", help="execute every example again")
    args = parser.parse_args(argv)
    for example in EXAMPLES:
        if not args.force and _is_current(example):
            continue
        render(example, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
