"""What changed between two runs: code cell by cell, params, metrics, data, environment.

``sides.py`` reads what one run (or a notebook file) has; ``code.py`` aligns the
stored notebooks' cells with nbdime; ``values.py`` compares params, metrics and the
environment; ``inputs.py`` compares input snapshots; ``report.py`` holds the
:class:`~.report.RunDiff` (with its JSON form), ``render.py`` its HTML and text, and
``api.py`` the public entry points.
"""
