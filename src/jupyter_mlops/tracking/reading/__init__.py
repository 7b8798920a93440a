"""Read models over the tracking store, for the interfaces that browse runs.

:mod:`.frames` (runs as pandas tables, ``mlops.runs``), :mod:`.browse` (pages, run detail,
metric history and artifacts as JSON-ready dicts), :mod:`.columns` (every matching run as
columns, for the runs table and charts) on the in-memory runs index :mod:`.index`, and
:mod:`.artifact_copy` (private per-read copies of remote artifacts).
"""
