"""The warm worker: a process that keeps MLflow, papermill and a spare kernel loaded.

``python -m jupyter_mlops.headless.worker`` starts one (:mod:`.server`); :mod:`.client`
hands runs to it over a Unix socket, or loopback TCP with a secret token where there are no
Unix sockets (:mod:`.transport`), at a place :mod:`.address` derives from the environment.
"""
