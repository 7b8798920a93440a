"""The notebook panel (ipywidgets): ``%mlops panel`` / ``mlops.panel()``.

An interface layer: it calls the tracking, models and data services and renders
their results; every piece of user text goes through :func:`html.escape`.
Importing this package loads ipywidgets, so the top-level package imports it
only when ``mlops.panel`` is first used.
"""
