"""Helpers for testing and benchmarking notebook work with jupyter-mlops.

- :mod:`.notebooks` writes small notebooks and ``pipeline.yaml`` files (plain JSON/YAML,
  no nbformat import), e.g. ``write_notebook(path, [params("lr = 0.1"), code("...")])``.
- :mod:`.processes` starts servers as child processes on loopback: a free port,
  waiting for HTTP readiness, stopping the whole process group.
- :mod:`.mlflow_server` and :mod:`.team` run a real ``mlflow server`` (SQLite, or a
  private PostgreSQL cluster) for tests against a tracking server.

Nothing here is imported by the rest of the package.
"""
