"""The one component every task of an exported pipeline is made of, in its two forms.

Both run ``jupyter mlops pipeline kfp-task``: the container form as the container's command
(what a cluster runs; KFP's local ``SubprocessRunner`` refuses container components), the
lightweight form as a Python function KFP's executor calls (what ``kfp.local`` runs here,
and a cluster too when the image holds the ``kfp`` package). Imported only once the
``kfp`` SDK is known to be there; no postponed annotations: KFP reads them to type inputs.
"""

from typing import Any

from ...errors import MlopsError

try:
    from kfp import dsl
except ImportError:  # pragma: no cover - export.py says so before importing this module
    raise MlopsError("the KFP export needs the kfp SDK: pip install 'jupyter-mlops[kfp]'") from None

__all__ = ["container_component", "lightweight_component"]


def mlops_task(
    pipeline: str,
    kind: str,
    step: str,
    unit: int,
    upstream: list,
    job: str,
    state: dsl.OutputPath(str),  # type: ignore[valid-type]
) -> None:
    """Run one task of an exported jupyter-mlops pipeline (``jupyter mlops pipeline kfp-task``)."""
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "jupyter_mlops", "pipeline", "kfp-task", pipeline]
    command += ["--kind", kind, "--step", step, "--unit", str(unit)]
    command += ["--upstream", json.dumps(upstream), "--job", job, "--output", state]
    done = subprocess.run(command)
    if done.returncode:
        raise SystemExit(done.returncode)


def lightweight_component(image: str) -> Any:
    """The task as a lightweight Python component running in ``image`` (which has ``kfp``)."""
    return dsl.component(mlops_task, base_image=image, install_kfp_package=False)


def container_component(image: str) -> Any:
    """The task as a container component: ``jupyter-mlops`` is the command of ``image``."""

    def mlops_task(
        pipeline: str,
        kind: str,
        step: str,
        unit: int,
        upstream: list,
        job: str,
        state: dsl.OutputPath(str),  # type: ignore[valid-type]
    ) -> dsl.ContainerSpec:
        args = ["--kind", kind, "--step", step, "--unit", unit, "--upstream", upstream]
        args += ["--job", job]
        return dsl.ContainerSpec(
            image=image,
            command=["jupyter-mlops", "pipeline", "kfp-task", pipeline],
            args=[*args, "--output", state],
        )

    return dsl.container_component(mlops_task)
