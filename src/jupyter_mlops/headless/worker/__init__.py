"""The warm worker: a process that keeps MLflow, papermill and a spare kernel loaded.

``python -m jupyter_mlops.headless.worker`` starts one (:mod:`.server`); :mod:`.client`
hands runs to it over a Unix socket whose place :mod:`.address` derives from the environment.
"""
