"""MLflow's ``mlflow.run_context_provider`` plugin: notebook and git context for every run.

Installed with the package (an entry point in ``pyproject.toml``), so MLflow loads it in any
process, whether or not ``jupyter_mlops`` is imported: a plain ``mlflow.start_run()`` in a
Jupyter kernel records the notebook's full path (``mlflow.source.name``,
``mlops.notebook.path``), ``mlflow.source.type = NOTEBOOK``, the git commit, branch and
dirty state of the notebook's folder and the kernel process (host, pid), and the notebook
file is logged to the run when it ends (:mod:`.kernel_runs`). MLflow's own providers see only
the kernel's launcher script, so they record neither the notebook's path nor its git context.

MLflow runs providers registered by entry points after its own, so these tags win; tags
passed to ``start_run`` win over all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlflow.tracking.context.abstract_context import RunContextProvider

from ..writing.run_context import git_info, notebook_path, process_identity
from .kernel_runs import kernel_runs

__all__ = ["NotebookRunContext"]


def _kernel_notebook() -> Path | None:
    """The notebook this kernel runs, from what the frontend or the headless runner said."""
    hint = None
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is not None:
        hint = shell.user_ns.get("__vsc_ipynb_file__")
    return notebook_path(hint if isinstance(hint, str) else None)


class NotebookRunContext(RunContextProvider):
    """Tags of a run started in a Jupyter kernel: notebook path and git context."""

    def in_context(self) -> bool:
        """Whether this process is a Jupyter kernel."""
        if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
            return False
        shell = sys.modules["IPython"].get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def tags(self) -> dict[str, str]:
        """``mlflow.source.*``, ``mlops.notebook.path``, the git and the process tags."""
        tags = process_identity()
        notebook = _kernel_notebook()
        if notebook is not None:
            tags["mlflow.source.name"] = str(notebook)
            tags["mlflow.source.type"] = "NOTEBOOK"
            tags["mlops.notebook.path"] = str(notebook)
            kernel_runs().run_starting()  # the notebook file is logged when the run ends
        git = git_info(notebook.parent if notebook is not None else Path.cwd())
        if git:
            tags["mlflow.source.git.commit"] = git["commit"]
            tags["mlops.git.dirty"] = git["dirty"]
            if "branch" in git:
                tags["mlflow.source.git.branch"] = git["branch"]
        return tags
