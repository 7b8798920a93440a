"""Executing one notebook headless: papermill runs as MLflow runs, reproduction, the warm worker.

Pure services: nothing here imports IPython, ipywidgets, tornado or jupyter_server.
Other services (pipelines, schedules) use it through :mod:`jupyter_mlops.headless.api`,
:mod:`~jupyter_mlops.headless.execution` and :mod:`~jupyter_mlops.headless.parameters`.
"""
