"""Pipelines on Kubeflow Pipelines v2: the compiled form (``compile.py``) and what its tasks run.

``jupyter mlops pipeline export --to kfp`` turns ``pipeline.yaml`` into a KFP pipeline
compiled by the ``kfp`` SDK; each of its tasks runs ``jupyter mlops pipeline kfp-task``,
which records the pipeline run exactly as the local executor does (``tasks.py``), the
state of the run travelling from task to task as their outputs (``state.py``).
"""

from ..._version import __version__

#: the image docs/kfp.md builds from the project's wheel
DEFAULT_IMAGE = f"jupyter-mlops:{__version__}"
#: ``container``: what a cluster runs; ``lightweight``: what ``kfp.local`` runs too
FORMS = ("container", "lightweight")
#: what a task of an exported pipeline does (see ``tasks.py``)
KINDS = ("start", "gate", "sweep", "unit", "study", "finish", "close")
