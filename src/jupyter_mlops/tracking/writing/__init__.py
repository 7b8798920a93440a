"""The write path: a process's runs, their buffered values, checks, context and journal.

Public module: :mod:`.tracker` (the :class:`~.tracker.Tracker` behind ``mlops.log`` and
``mlops.start_run``). A process that owns one run writes to it through :mod:`.owned_run`;
:mod:`.shared_runs` keeps the tracker's runs and MLflow's fluent runs in step.
"""
