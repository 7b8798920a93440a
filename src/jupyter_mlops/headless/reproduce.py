"""Re-execute a past run from what it recorded, and compare the outcome.

The notebook comes from the run's artifacts (not today's file), parameters from
``headless.json``, input snapshots are pinned to the digests the run used, and
the fresh run is tagged ``reproduces=<run id>``. Every metric of the original is
compared with the new value within ``rtol``/``atol``; environment differences
(Python, every distribution of the two runs' locks, git commit, kernel) are listed
to explain a mismatch. ``isolated=True`` executes in the run's recorded environment,
rebuilt by uv (``isolation/``), instead of today's.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import InvalidInput, NotFound
from ..tracking.mlflow_bridge.store import mlflow_errors, open_client
from ..tracking.reading.environment import read_lock, source_archives
from ..tracking.writing.environment_lock import LOCK_ARTIFACT
from .execution import ExecutionControl, HeadlessResult, execute_notebook
from .progress import ProgressCallback
from .recording import INPUT_DIR, MANIFEST, PINNED_ENV

if TYPE_CHECKING:  # pragma: no cover
    from ..tracking.writing.environment_lock import EnvironmentLock
    from .isolation.rebuild import IsolatedEnv

if TYPE_CHECKING:  # pragma: no cover
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = [
    "EnvDifference",
    "MetricCheck",
    "ReproduceReport",
    "check_tolerances",
    "isolated_environment",
    "reproduce_run",
]

REPRODUCES_TAG = "reproduces"
#: on a run reproduced in its rebuilt environment: that environment's cache key
ISOLATED_TAG = "mlops.reproduce.environment"
DEFAULT_RTOL = 1e-7
DEFAULT_ATOL = 0.0


@dataclass(frozen=True)
class MetricCheck:
    """One metric, original against reproduced (latest values)."""

    key: str
    original: float | None
    reproduced: float | None
    ok: bool

    @property
    def difference(self) -> float | None:
        """``reproduced - original`` when both exist."""
        if self.original is None or self.reproduced is None:
            return None
        return self.reproduced - self.original


@dataclass(frozen=True)
class EnvDifference:
    """Something about the environment that changed between the two runs."""

    what: str
    original: str
    reproduced: str


@dataclass
class ReproduceReport:
    """Outcome of :func:`reproduce_run`."""

    original_run_id: str
    result: HeadlessResult
    checks: list[MetricCheck] = field(default_factory=list)
    environment: list[EnvDifference] = field(default_factory=list)
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    #: the rebuilt environment, for an isolated reproduction
    isolated: IsolatedEnv | None = None
    #: distributions of the original's lock, and how many the new run has at those versions
    recorded: int = 0
    matching: int = 0

    @property
    def run_id(self) -> str:
        """The new run."""
        return self.result.run_id

    @property
    def ok(self) -> bool:
        """The notebook ran to the end and every metric matched within tolerance."""
        return self.result.ok and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data (``jupyter mlops reproduce --json``, REST)."""
        return {
            "original_run_id": self.original_run_id,
            "run_id": self.run_id,
            "status": self.result.status,
            "ok": self.ok,
            "rtol": self.rtol,
            "atol": self.atol,
            "metrics": [
                {"key": c.key, "original": c.original, "reproduced": c.reproduced, "ok": c.ok}
                for c in self.checks
            ],
            "environment": [
                {"what": e.what, "original": e.original, "reproduced": e.reproduced}
                for e in self.environment
            ],
            "distributions": {"recorded": self.recorded, "at_recorded_version": self.matching},
            "isolated": self.isolated.to_dict() if self.isolated else None,
        }

    def table(self) -> str:
        """The comparison as aligned text: metrics, then environment differences."""
        rows = [("metric", "original", "reproduced", "difference", "match")]
        for c in self.checks:
            rows.append(
                (c.key, _num(c.original), _num(c.reproduced), _num(c.difference), _yes(c.ok))
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [_row(r, widths) for r in rows]
        if not self.checks:
            lines.append("(the original run has no metrics to compare)")
        lines.append("")
        lines += self._isolation_lines()
        if self.environment:
            lines.append("environment differences:")
            lines += [f"  {d.what}: {d.original} -> {d.reproduced}" for d in self.environment]
        else:
            lines.append("environment: same Python, packages, git commit and kernel")
        verdict = "REPRODUCED" if self.ok else "NOT REPRODUCED"
        lines.append(
            f"{verdict}: run {self.run_id} ({self.result.status}) vs {self.original_run_id}, "
            f"rtol={self.rtol:g} atol={self.atol:g}"
        )
        return "\n".join(lines)

    def _isolation_lines(self) -> list[str]:
        env = self.isolated
        if env is None:
            return []
        how = "reused cached environment" if env.reused else "built environment"
        lines = [
            f"environment rebuilt: {self.matching} of {self.recorded} distributions at their "
            f"recorded versions ({how} {env.key} in {env.seconds:.1f} s)"
        ]
        lines += [f"  uv: {line}" for line in env.uv_figures]
        lines += [f"  skipped (--allow-missing): {u}" for u in env.skipped]
        lines += [f"  note: {note}" for note in env.notes]
        return lines


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.10g}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def close_enough(a: float, b: float, rtol: float, atol: float) -> bool:
    """``|a - b| <= atol + rtol * |a|``; NaN matches NaN, infinities match themselves."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(b - a) <= atol + rtol * abs(a)


def compare_metrics(
    original: dict[str, float], reproduced: dict[str, float], rtol: float, atol: float
) -> list[MetricCheck]:
    """Compare every metric of either run; one missing on a side does not match."""
    checks = []
    for key in sorted(set(original) | set(reproduced)):
        a, b = original.get(key), reproduced.get(key)
        ok = a is not None and b is not None and close_enough(a, b, rtol, atol)
        checks.append(MetricCheck(key, a, b, ok))
    return checks


def environment_differences(
    original: Run,
    reproduced: Run,
    locks: tuple[EnvironmentLock | None, EnvironmentLock | None] = (None, None),
) -> list[EnvDifference]:
    """Python, package versions, git commit and kernel that differ between two runs.

    With both runs' locks, every distribution and the kernel's Python come from them;
    otherwise from the key packages the runs' tags name.
    """
    a, b = original.data.tags, reproduced.data.tags
    was, now = locks
    if was is not None and now is not None:
        return _tag_differences(a, b, ("mlflow.source.git.commit",)) + _lock_differences(was, now)
    diffs = _tag_differences(
        a, b, ("mlops.python", "mlops.kernel.language", "mlflow.source.git.commit")
    )
    pa, pb = _packages(a), _packages(b)
    return diffs + _version_differences(pa, pb)


_LABELS = {
    "mlops.python": "python",
    "mlops.kernel.language": "kernel language",
    "mlflow.source.git.commit": "git commit",
}


def _tag_differences(a: dict[str, str], b: dict[str, str], tags: tuple[str, ...]) -> list:
    diffs = []
    for tag in tags:
        if tag == "mlops.kernel.language" and not (a.get(tag) and b.get(tag)):
            continue  # interactive runs do not record it
        if a.get(tag, "") != b.get(tag, ""):
            diffs.append(
                EnvDifference(_LABELS[tag], a.get(tag) or "(unknown)", b.get(tag) or "(unknown)")
            )
    return diffs


def _lock_differences(a: EnvironmentLock, b: EnvironmentLock) -> list[EnvDifference]:
    diffs = [EnvDifference("python", a.python, b.python)] if a.python != b.python else []
    return diffs + _version_differences(a.versions, b.versions)


def _version_differences(pa: dict[str, str], pb: dict[str, str]) -> list[EnvDifference]:
    return [
        EnvDifference(name, pa.get(name, "(absent)"), pb.get(name, "(absent)"))
        for name in sorted(set(pa) | set(pb))
        if pa.get(name) != pb.get(name)
    ]


def _packages(tags: dict[str, str]) -> dict[str, str]:
    try:
        found = json.loads(tags.get("mlops.packages", "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _manifest(client: MlflowClient, run_id: str, into: Path) -> dict[str, Any]:
    """The run's ``headless.json``; empty for a run without one (an interactive run)."""
    try:
        path = client.download_artifacts(run_id, MANIFEST, str(into))
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except Exception:
        return {}
    return doc if isinstance(doc, dict) else {}


def _notebook_artifact(client: MlflowClient, run: Run, manifest: dict[str, Any]) -> str:
    if manifest.get("notebook"):
        return str(manifest["notebook"])
    with mlflow_errors(f"list artifacts of run {run.info.run_id}"):
        files = [f.path for f in client.list_artifacts(run.info.run_id, INPUT_DIR)]
    notebooks = [f for f in files if f.endswith(".ipynb")]
    if not notebooks:
        raise NotFound(
            f"run {run.info.run_id} has no notebook artifact under '{INPUT_DIR}/', so there is "
            "nothing to re-execute; runs made with `jupyter mlops run`, or ended from a saved "
            "notebook (%mlops end), keep one"
        )
    return notebooks[0]


def _pins(run: Run, manifest: dict[str, Any]) -> dict[str, str]:
    pins = {str(k): str(v) for k, v in (manifest.get("pinned_snapshots") or {}).items()}
    for item in run.inputs.dataset_inputs if run.inputs else []:
        pins[item.dataset.name] = item.dataset.digest
    return pins


def _original_folder(run: Run, manifest: dict[str, Any]) -> Path | None:
    source = manifest.get("input_path") or run.data.tags.get("mlops.notebook.path")
    if not source:
        return None
    folder = Path(source).parent
    return folder if folder.is_dir() else None


def check_tolerances(rtol: float, atol: float) -> None:
    """Refuse negative or NaN tolerances with the right form."""
    if rtol < 0 or atol < 0 or math.isnan(rtol) or math.isnan(atol):
        raise InvalidInput(
            f"tolerances must be >= 0, got rtol={rtol} atol={atol}; e.g. --rtol 1e-6"
        )


def reproduce_run(
    run_id: str,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    output_path: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    control: ExecutionControl | None = None,
    settings: Settings | None = None,
    isolated: bool = False,
    allow_missing: bool = False,
    find_links: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ReproduceReport:
    """Re-execute run ``run_id`` as recorded and compare its metrics.

    Parameters
    ----------
    run_id : str
        The run to reproduce (headless, or interactive with a notebook artifact).
    rtol, atol : float
        A metric matches when ``|new - old| <= atol + rtol * |old|``.
    output_path, progress, control, settings
        As for :func:`~.headless.execute_notebook`.
    isolated : bool
        Execute in the run's recorded environment (its lock), rebuilt by uv in the user
        cache or reused from there, instead of in today's environment.
    allow_missing : bool
        With ``isolated``: go on without the distributions that cannot be installed
        (listed in the report) instead of refusing.
    find_links : sequence of str
        With ``isolated``: folders of wheels uv also installs from (offline).
    env : mapping of str to str, optional
        More variables for the kernel (a pipeline unit's view of its upstream runs).

    Returns
    -------
    ReproduceReport
    """
    check_tolerances(rtol, atol)
    settings = settings or load_settings()
    client = open_client(settings)
    with mlflow_errors(f"read run {run_id}", "give a run id from `jupyter mlops runs`"):
        original = client.get_run(run_id)
        experiment = client.get_experiment(original.info.experiment_id).name
    # The run's files go to a folder of this call alone, removed once the new run is recorded.
    work = settings.store_dir / "reproduce"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{run_id[:12]}-", dir=work) as tmp:
        folder = Path(tmp)
        manifest = _manifest(client, run_id, folder)
        artifact = _notebook_artifact(client, original, manifest)
        with mlflow_errors(f"download {artifact} of run {run_id}"):
            notebook = Path(client.download_artifacts(run_id, artifact, str(folder)))
        recorded = read_lock(client, original)
        isolated_in = None
        if isolated:
            isolated_in = _isolate(client, original, recorded, folder, allow_missing, find_links)
        result = _execute_again(
            original, manifest, notebook, folder, experiment, output_path, progress, control,
            settings, isolated_in, env,
        )  # fmt: skip
    with mlflow_errors(f"read run {result.run_id}"):
        fresh = client.get_run(result.run_id)
    checks = compare_metrics(original.data.metrics, fresh.data.metrics, rtol, atol)
    now = read_lock(client, fresh)
    diffs = environment_differences(original, fresh, (recorded, now))
    report = ReproduceReport(run_id, result, checks, diffs, rtol, atol, isolated_in)
    if recorded is not None:
        report.recorded = len(recorded.packages)
        have = now.versions if now is not None else {}
        report.matching = sum(have.get(k) == v for k, v in recorded.versions.items())
    return report


def isolated_environment(
    run_id: str,
    settings: Settings,
    *,
    allow_missing: bool = False,
    find_links: Sequence[str] = (),
) -> IsolatedEnv:
    """The recorded environment of run ``run_id``, rebuilt now or found in the cache.

    What :func:`reproduce_run` does first with ``isolated=True``, without executing: a
    caller reproducing several runs builds each distinct environment once, up front.
    """
    client = open_client(settings)
    with mlflow_errors(f"read run {run_id}", "give a run id from `jupyter mlops runs`"):
        run = client.get_run(run_id)
    work = settings.store_dir / "reproduce"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{run_id[:12]}-", dir=work) as tmp:
        lock = read_lock(client, run)
        return _isolate(client, run, lock, Path(tmp), allow_missing, find_links)


def _isolate(
    client: MlflowClient,
    run: Run,
    lock: EnvironmentLock | None,
    folder: Path,
    allow_missing: bool,
    find_links: Sequence[str],
) -> IsolatedEnv:
    """The run's recorded environment, rebuilt or from the cache."""
    from .isolation.rebuild import isolated_env

    if lock is None:
        raise NotFound(
            f"run {run.info.run_id} recorded no environment lock ({LOCK_ARTIFACT}), so there is "
            "no environment to rebuild; reproduce it without --isolated"
        )
    archives = source_archives(client, run, lock, folder)
    return isolated_env(lock, archives, allow_missing=allow_missing, find_links=find_links)


def _execute_again(
    original: Run,
    manifest: dict[str, Any],
    notebook: Path,
    folder: Path,
    experiment: str,
    output_path: str | os.PathLike[str] | None,
    progress: ProgressCallback | None,
    control: ExecutionControl | None,
    settings: Settings,
    isolated: IsolatedEnv | None = None,
    extra: Mapping[str, str] | None = None,
) -> HeadlessResult:
    run_id = original.info.run_id
    pins = _pins(original, manifest)
    env = {**(extra or {}), **({PINNED_ENV: json.dumps(pins)} if pins else {})}
    tags = {REPRODUCES_TAG: run_id}
    kernel = (manifest.get("kernel") or {}).get("name")
    if isolated is not None:
        env = {**isolated.kernel_environment(), **env}
        tags[ISOLATED_TAG] = isolated.key
        kernel = isolated.kernel_name
    return execute_notebook(
        notebook,
        manifest.get("parameters") or {},
        experiment=experiment,
        run_name=f"reproduce {original.info.run_name or run_id[:8]}",
        tags=tags,
        env=env or None,
        cwd=_original_folder(original, manifest) or folder,
        kernel_name=kernel,
        output_path=output_path,
        progress=progress,
        control=control,
        settings=settings,
        inherit_env=isolated is None,
        kernel_dirs=isolated.kernel_dirs if isolated else (),
    )
