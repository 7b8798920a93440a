"""Serving a registered version: MLflow's scoring protocol plus live monitoring.

``jupyter mlops serve`` runs one process holding the model, the Prometheus
metrics of :mod:`.metrics`, a window of recently scored rows (:mod:`.window`)
and a background thread (:mod:`.watch`) that computes prediction statistics
and drift against the version's training snapshot, evaluates alert
expressions (:mod:`.alerts`, fired by :mod:`.notify`) and follows the alias.
Requests never wait for that thread.
"""
