"""Pipelines of notebooks: spec, DAG, sweeps, cache, executors and pipeline runs.

Each step runs through :mod:`jupyter_mlops.headless` (its public functions only).
Pure services: nothing here imports IPython, ipywidgets, tornado or jupyter_server.
"""
