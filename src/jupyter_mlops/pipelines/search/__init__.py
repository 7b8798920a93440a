"""Searched sweeps: an Optuna study whose trials are the members of a pipeline step.

``space`` (ranges and choices), ``config`` (the ``sweep:`` mapping, samplers and
pruners), ``validation`` (checks for ``pipeline.yaml``), ``study`` (storage,
ask and tell), ``driver`` (trials scheduled as slots free up, pruning) and
``report`` (best trial, history and importances on the step run).
Optuna is imported only when a study is opened.
"""
