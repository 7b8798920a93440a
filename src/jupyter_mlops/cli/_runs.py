"""``jupyter mlops params | run | reproduce``: headless notebook runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..headless.parameters import PARAMETER_OPTIONS, cli_params


def add_commands(sub: Any) -> None:
    """Register the headless-run commands on ``sub``."""
    p = sub.add_parser("params", help="the parameters cell of a notebook: names, types, defaults")
    p.add_argument("notebook", help="a .ipynb file")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=_params)

    p = sub.add_parser("run", help="execute a notebook headless with papermill, as one MLflow run")
    p.add_argument("notebook", help="a .ipynb file")
    _parameter_options(p)
    p.add_argument("--experiment", help="experiment (default: configured, else notebook name)")
    p.add_argument("--name", help="run name")
    p.add_argument("--output", "-o", help="executed notebook path (default under .mlops/outputs)")
    p.add_argument("--kernel", "-k", help="kernel name instead of the notebook's")
    p.add_argument("--cwd", help="working folder of the kernel (default the notebook's folder)")
    p.add_argument("--timeout", type=float, help="seconds a single cell may run")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)

    p = sub.add_parser("reproduce", help="re-execute a past run as recorded and compare metrics")
    p.add_argument("run_id", help="the run to reproduce (a pipeline run: each of its unit runs)")
    p.add_argument("--rtol", type=float, default=1e-7, help="relative tolerance (default 1e-7)")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument("--output", "-o", help="executed notebook path")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument(
        "--isolated",
        action="store_true",
        help="run in the run's recorded environment, rebuilt with uv (cached by its lock)",
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="with --isolated: skip distributions that cannot be installed (listed)",
    )
    p.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR",
        help="with --isolated: a folder of wheels to install from (repeatable; offline)",
    )
    p.add_argument(
        "--keep-env", action="store_true", help="with --isolated: print the environment's path"
    )
    p.set_defaults(func=_reproduce)

    p = sub.add_parser(
        "worker", help="the warm worker and the kernel templates that make repeated runs fast"
    )
    p.add_argument("action", choices=("status", "start", "stop"), help="what to do")
    p.add_argument(
        "--all",
        action="store_true",
        help="every worker and kernel template of this user, any environment",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_worker)


def _parameter_options(p: argparse.ArgumentParser) -> None:
    for flags, options in PARAMETER_OPTIONS:
        p.add_argument(*flags, **options)


def _params(args: argparse.Namespace) -> int:
    from ..headless.parameters import (
        declared_params,
        kernel_language,
        load_notebook_json,
        parameters_cell,
    )

    doc = load_notebook_json(args.notebook)
    cell = parameters_cell(doc)
    kernel, language = kernel_language(doc)
    found = declared_params(cell, kernel, language) if cell is not None else []
    if args.json:
        print(json.dumps([p.to_dict() for p in found or []], indent=2))
        return 0
    name = Path(args.notebook).name
    if cell is None:
        print(f"{name} has no cell tagged 'parameters' (tag the cell holding the defaults)")
    elif found is None:
        print(f"{name}: papermill cannot inspect the parameters of {language} notebooks")
    elif not found:
        print(f"{name}: no parameters found in the cell tagged 'parameters'")
    else:
        rows = [(p.name, p.type, p.default, p.help) for p in found]
        _table([("name", "type", "default", "help"), *rows])
    return 0


def _table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _progress(args: argparse.Namespace, label: str) -> Any:
    if args.quiet:
        return None
    from ..headless.progress import TerminalProgress

    return TerminalProgress(label)


def _run(args: argparse.Namespace) -> int:
    from ..headless.worker import client as worker_client

    params = cli_params(
        args.parameters, args.parameters_raw, args.parameters_yaml, args.parameters_file
    )
    progress = _progress(args, Path(args.notebook).name)
    request = worker_client.run_request(
        args.notebook,
        params,
        experiment=args.experiment,
        run_name=args.name,
        output=args.output,
        kernel=args.kernel,
        cwd=args.cwd,
        timeout=args.timeout,
    )
    done = worker_client.run_via_worker(request, progress) if request else None
    if done is None:
        return _run_here(args, params, progress)
    print(done.message, file=sys.stdout if done.ok else sys.stderr)
    return 0 if done.ok else 1


def _run_here(args: argparse.Namespace, params: dict[str, Any], progress: Any) -> int:
    """Run in this process, then start a warm worker for the next ``run``.

    The worker starts after the run, not during it: on a small machine its imports
    and spare kernel would compete with this run for the same cores.
    """
    from ..headless.cold_start import execute_cold

    try:
        result = execute_cold(
            args.notebook,
            params,
            experiment=args.experiment,
            run_name=args.name,
            output_path=args.output,
            kernel_name=args.kernel,
            cwd=args.cwd,
            timeout=args.timeout,
            progress=progress,
        )
    finally:
        _spawn_worker(args)
    print(result.message(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _spawn_worker(args: argparse.Namespace) -> None:
    from ..config import load_settings
    from ..headless.worker import client as worker_client

    notebook = Path(args.notebook)
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        return
    store = load_settings(notebook.resolve().parent).store_dir
    cwd = str(Path(args.cwd).resolve()) if args.cwd else None
    worker_client.spawn_worker(store, str(notebook.resolve()), kernel=args.kernel, cwd=cwd)


def _reproduce(args: argparse.Namespace) -> int:
    from ..errors import InvalidInput
    from ..headless.api import reproduce

    if not args.isolated and (args.allow_missing or args.find_links or args.keep_env):
        raise InvalidInput(
            "--allow-missing, --find-links and --keep-env apply to an isolated reproduction: "
            f"add --isolated, e.g. jupyter mlops reproduce {args.run_id} --isolated --allow-missing"
        )
    from ..pipelines.reproduce import is_pipeline_run
    from ..tracking.api import tracker

    if is_pipeline_run(args.run_id, tracker().settings):
        return _reproduce_pipeline(args)
    report = reproduce(
        args.run_id,
        args.rtol,
        args.atol,
        output_path=args.output,
        progress=_progress(args, f"reproduce {args.run_id[:8]}"),
        isolated=args.isolated,
        allow_missing=args.allow_missing,
        find_links=args.find_links,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
    if args.keep_env and report.isolated is not None:
        _print_kept(report.isolated)
    if not report.result.ok:
        print(report.result.message(), file=sys.stderr)
    return 0 if report.ok else 1


def _print_kept(env: Any) -> None:
    print(f"environment: {env.path} (kernel {env.kernel_name}; jupyter mlops env cache lists it)")


def _reproduce_pipeline(args: argparse.Namespace) -> int:
    from ..errors import InvalidInput
    from ..pipelines.reproduce import reproduce_pipeline_run
    from ..tracking.api import tracker

    if args.output:
        raise InvalidInput(
            f"--output names one notebook, but {args.run_id} is a pipeline run whose units each "
            f"write their own; drop --output (jupyter mlops reproduce {args.run_id})"
        )
    report = reproduce_pipeline_run(
        args.run_id,
        rtol=args.rtol,
        atol=args.atol,
        isolated=args.isolated,
        allow_missing=args.allow_missing,
        find_links=args.find_links,
        progress=lambda label: _progress(args, f"reproduce {label}"),
        settings=tracker().settings,
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    for use in report.environments if args.keep_env else []:
        _print_kept(use.env)
    for label, unit in report.units:
        if not unit.result.ok:
            print(f"{label}: {unit.result.message()}", file=sys.stderr)
    return 0 if report.ok else 1


def _worker(args: argparse.Namespace) -> int:
    from ..headless.worker import client as wc

    if args.action == "start":
        return _worker_start(args)
    if args.action == "stop":
        keys = [w["key"] for w in wc.all_workers()] if args.all else [None]
        stopped = [s for s in (wc.stop_worker(k) for k in keys) if s is not None]
        for status in stopped:
            running = len(status["running"])
            note = f", cancelled {running} running notebook(s)" if running else ""
            print(f"stopped worker pid {status['pid']}{note}")
        if not stopped:
            print("no worker is running" + ("" if args.all else " for this environment"))
        _stop_templates(args)
        return 0
    found = wc.all_workers() if args.all else [s for s in [wc.worker_status()] if s]
    templates = _templates(args)
    for status in found:
        status["kernel_templates"] = templates
    if args.json:
        print(json.dumps(found if args.all else (found[0] if found else None), indent=2))
    elif not found and wc.workers_disabled():
        print("no worker: MLOPS_NO_WORKER is set, so runs execute in their own process")
    elif not found:
        print("no worker is running for this environment; the next run starts one")
    for status in [] if args.json else found:
        print(_worker_text(status))
    if not args.json:
        print(_templates_text(templates))
    return 0


def _stop_templates(args: argparse.Namespace) -> None:
    from ..config import load_settings
    from ..headless.fork.templates import retire_templates

    for t in retire_templates(None if args.all else load_settings().root):
        print(f"stopped kernel template pid {t['pid']} (the kernels it forked keep running)")


def _templates(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The kernel templates of this project (of every project with ``--all``)."""
    from ..config import load_settings
    from ..headless.fork.templates import all_templates

    return all_templates(None if args.all else load_settings().root)


def _templates_text(templates: list[dict[str, Any]]) -> str:
    from ..headless.fork.templates import fork_enabled

    if not templates:
        if not fork_enabled():
            return "kernels start normally: forking is off (MLOPS_FORK_KERNELS=0) or not safe here"
        return "no kernel template is running; the next headless run starts one"
    lines = []
    for t in templates:
        preload = ", ".join(t["preload"]) or "nothing beyond ipykernel"
        lines += [
            f"kernel template pid {t['pid']} ({t['kernel']}) for {t['project']}: "
            f"{t['forks']}/{t['max_forks']} kernels forked, {t['rss_mb']:.0f} MB "
            f"(replaced over {t['max_mb']:.0f} MB), idle {t['idle_s']:.0f} s",
            f"  preloaded: {preload}",
        ]
        lines += [f"  could not preload {n}: {why}" for n, why in t["preload_failed"].items()]
    return "\n".join(lines)


def _worker_start(args: argparse.Namespace) -> int:
    from ..config import load_settings
    from ..errors import InvalidInput
    from ..headless.worker import client as wc

    if wc.workers_disabled():
        raise InvalidInput("MLOPS_NO_WORKER is set; unset it to start a worker")
    status = wc.worker_status()
    if status is None:
        wc.spawn_worker(load_settings().store_dir)
        status = wc.wait_for_worker()
    if status is None:
        print(f"the worker did not start; see {load_settings().store_dir / wc.LOG_NAME}")
        return 1
    print(json.dumps(status, indent=2) if args.json else _worker_text(status))
    return 0


def _worker_text(status: dict[str, Any]) -> str:
    import time

    lines = [
        f"worker pid {status['pid']}, up {time.time() - status['started']:.0f} s, "
        f"{status['runs_served']} run(s) served, idle {status['idle_s']:.0f} s "
        f"(exits after {status['idle_timeout_s']:.0f} s)",
        f"  listening on {status.get('address', status['socket'])}",
        f"  kernels: {status['spare_kernels_used']} started ahead, "
        f"{status['fresh_kernels']} started on demand",
    ]
    lines += [f"  running {j['notebook']} (run {j['run_id']})" for j in status["running"]]
    return "\n".join(lines)
