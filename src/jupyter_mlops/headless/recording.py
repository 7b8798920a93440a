"""What a headless execution leaves on its run once the kernel is gone.

Artifacts: ``notebook/<name>.ipynb`` (the input as read, what reproduce re-runs),
``output/<name>.ipynb`` and ``output/<name>.html`` (the executed notebook), and
``headless.json`` (typed parameters, kernel, papermill, timing, outcome).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ..config import PINNED_SNAPSHOTS_ENV as PINNED_ENV
from ..tracking.mlflow_bridge.store import mlflow_errors
from ..tracking.writing.environment_lock import (
    LOCK_ARTIFACT,
    LOCK_DIGEST_TAG,
    SOURCES_DIR,
    run_lock,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..tracking.writing.owned_run import RunWriter
    from .outcome import HeadlessResult

__all__ = ["INPUT_DIR", "MANIFEST", "OUTPUT_DIR", "record_outcome"]

INPUT_DIR = "notebook"
OUTPUT_DIR = "output"
MANIFEST = "headless.json"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


_exporter: Any = None
_exporter_lock = threading.Lock()


def _exporter_instance() -> Any:
    global _exporter
    with _exporter_lock:
        if _exporter is None:
            from nbconvert import HTMLExporter

            _exporter = HTMLExporter()
        return _exporter


def warm_renderer() -> None:
    """Load nbconvert and render a one-cell notebook now (a cold run does it while it waits).

    The first rendering compiles the templates and loads the Python lexer: most of
    what rendering a small executed notebook costs afterwards.
    """
    with contextlib.suppress(Exception):
        exporter = _exporter_instance()
        from nbformat import v4

        doc = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
        doc.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
        with _exporter_lock:
            exporter.from_notebook_node(doc)


def _html(output: Path) -> tuple[str | None, str | None]:
    """Render the executed notebook as HTML; return ``(html, error)``.

    One exporter serves the process: building one compiles its Jinja templates,
    which costs more than rendering a small notebook (a warm worker renders many).
    """
    try:
        exporter = _exporter_instance()
        with _exporter_lock:
            body, _ = exporter.from_filename(str(output))
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return body, None


def _artifact_location(client: RunWriter, run_id: str, name: str) -> str:
    """A path to open for a local artifact store, else the artifact's URI."""
    uri = f"{client.artifact_uri(run_id).rstrip('/')}/{name}"
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else uri


def _pins(env: Mapping[str, str] | None) -> dict[str, str]:
    text = (env or {}).get(PINNED_ENV) or os.environ.get(PINNED_ENV)
    if not text:
        return {}
    try:
        pins = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in pins.items()} if isinstance(pins, dict) else {}


def manifest(result: HeadlessResult, kernel_name: str, env: Mapping[str, str] | None) -> dict:
    """Return the ``headless.json`` document of ``result``."""
    from papermill import __version__ as papermill_version

    meta = _read_json(result.output_path).get("metadata", {})
    failure = result.failure
    return {
        "notebook": f"{INPUT_DIR}/{result.notebook.name}",
        "output": f"{OUTPUT_DIR}/{result.output_path.name}",
        "input_path": str(result.notebook),
        "output_path": str(result.output_path),
        "parameters": result.params,
        "pinned_snapshots": _pins(env),
        "kernel": {
            "name": kernel_name,
            "spec": meta.get("kernelspec", {}),
            "language_info": meta.get("language_info", {}),
        },
        "papermill": {"version": papermill_version, **meta.get("papermill", {})},
        "duration_s": round(result.duration_s, 3),
        "status": result.status,
        "failure": failure.__dict__ if failure else None,
        "error": result.error,
    }


def record_outcome(
    client: RunWriter,
    result: HeadlessResult,
    kernel_name: str,
    env: Mapping[str, str] | None,
    kernel_gone: Callable[[], None] = lambda: None,
    *,
    kernel: tuple[str | None, Mapping[str, str]] = (None, {}),
) -> None:
    """Log notebooks, rendering and metadata on the run, then end it with its status.

    The notebooks are logged and rendered while the kernel shuts down; ``kernel_gone``
    returns once it is gone, so that its log is complete and what it wrote to the
    run has landed before the run ends. ``kernel`` is the kernel's interpreter and
    environment: the lock describes that interpreter's distributions (a kernel spec may
    start a Python of another environment than this process's).
    """
    run_id = result.run_id
    tags: dict[str, str] = {}
    try:
        with mlflow_errors(f"record the outcome on run {run_id}"):
            _log_notebooks(client, result, tags)
            kernel_gone()
            kernel_log = result.output_path.with_name(result.output_path.stem + ".kernel.log")
            if kernel_log.is_file() and kernel_log.stat().st_size:
                client.log_artifact(run_id, str(kernel_log), artifact_path=OUTPUT_DIR)
            else:
                kernel_log.unlink(missing_ok=True)  # a quiet kernel leaves no empty file behind
            doc = manifest(result, kernel_name, env)
            client.log_text(run_id, json.dumps(doc, indent=2, default=str), MANIFEST)
            lock, sources = run_lock(kernel[0], kernel[1])
            if lock is not None:  # an interpreter that cannot be asked: no lock, no guess
                for archive in sources.values():
                    client.log_artifact(run_id, str(archive), artifact_path=SOURCES_DIR)
                client.log_text(run_id, lock.to_toml(), LOCK_ARTIFACT)
                tags[LOCK_DIGEST_TAG] = lock.digest()
            client.set_tags(run_id, {**_outcome_tags(result, doc), **tags})
    finally:
        kernel_gone()
        with mlflow_errors(f"end run {run_id} {result.status}"):
            client.set_terminated(run_id, status=result.status)


def _log_notebooks(client: RunWriter, result: HeadlessResult, tags: dict[str, str]) -> None:
    """Log the input and executed notebooks and the HTML rendering (or why there is none)."""
    run_id = result.run_id
    client.log_artifact(run_id, str(result.notebook), artifact_path=INPUT_DIR)
    if not result.output_path.is_file():
        return
    client.log_artifact(run_id, str(result.output_path), artifact_path=OUTPUT_DIR)
    html, problem = _html(result.output_path)
    if html is not None:
        name = f"{OUTPUT_DIR}/{result.output_path.with_suffix('.html').name}"
        client.log_text(run_id, html, name)
        result.html = _artifact_location(client, run_id, name)
    else:
        tags["mlops.html_error"] = (problem or "")[:500]


def _outcome_tags(result: HeadlessResult, doc: Mapping[str, Any]) -> dict[str, str]:
    tags = {
        "mlops.duration_s": f"{result.duration_s:.3f}",
        "mlops.output_path": str(result.output_path),
        "mlops.papermill.version": str(doc["papermill"]["version"]),
    }
    language = doc["kernel"]["language_info"]
    if language.get("version"):
        tags["mlops.kernel.language"] = f"{language.get('name', '')} {language['version']}".strip()
    return tags
