"""Everything about a headless run that is checked before a run or a kernel exists."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..tracking.writing.value_checks import check_param_value
from .parameters import check_params, load_notebook_json

__all__ = ["Plan", "prepare"]


@dataclass(frozen=True)
class Plan:
    """Everything checked before a run or a kernel exists."""

    notebook: Path
    params: dict[str, Any]
    param_text: dict[str, str]
    kernel_name: str
    cwd: Path
    output: Path | None


def prepare(
    path: str | os.PathLike[str],
    params: Mapping[str, Any] | None,
    kernel_name: str | None,
    cwd: str | os.PathLike[str] | None,
    output_path: str | os.PathLike[str] | None,
    kernel_dirs: Sequence[str] = (),
) -> Plan:
    """Check everything that can be checked before a run or a kernel exists.

    ``kernel_dirs`` are kernel spec folders searched before Jupyter's own.
    """
    notebook = Path(path).expanduser().resolve()
    doc = load_notebook_json(notebook)
    given = dict(params or {})
    check_params(given, doc, notebook.name)
    param_text = {k: check_param_value(k, v) for k, v in given.items()}
    spec = doc.get("metadata", {}).get("kernelspec", {}) or {}
    kernel = kernel_name or spec.get("name")
    if not kernel:
        raise InvalidInput(
            f"{notebook.name} names no kernel in its metadata; pass one, e.g. --kernel python3"
        )
    _check_kernel(kernel, kernel_dirs)
    folder = Path(cwd).expanduser().resolve() if cwd else notebook.parent
    if not folder.is_dir():
        raise InvalidInput(f"working folder {str(folder)!r} does not exist; give an existing one")
    output = Path(output_path).expanduser().resolve() if output_path else None
    if output is not None and output.suffix != ".ipynb":
        raise InvalidInput(f"--output {str(output_path)!r} must end in .ipynb, e.g. out.ipynb")
    return Plan(notebook, given, param_text, kernel, folder, output)


def _check_kernel(name: str, kernel_dirs: Sequence[str]) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    manager.kernel_dirs = [*kernel_dirs, *manager.kernel_dirs]
    try:
        manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "(none installed)"
        raise InvalidInput(f"no Jupyter kernel named {name!r}; installed: {known}") from None
