"""The serving process's own figures (CPU, memory, open connections) on both platform branches."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jupyter_mlops.models.serving.live_runs import process_figures
from jupyter_mlops.portability import TEST_NON_POSIX_ENV


@contextmanager
def _connected_pair() -> Iterator[None]:
    """A listener on 127.0.0.1 and one connection to it: two established ends in this process."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname()[:2])
        accepted, _ = server.accept()
        try:
            yield
        finally:
            accepted.close()
            client.close()


@pytest.mark.parametrize("non_posix", [False, True], ids=["posix", "non-posix"])
def test_figures_count_this_process_connections(
    non_posix: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if non_posix:
        monkeypatch.setenv(TEST_NON_POSIX_ENV, "1")
    before = process_figures()
    with _connected_pair():
        during = process_figures()
    after = process_figures()
    assert during["process.open_connections"] == before["process.open_connections"] + 2
    assert after["process.open_connections"] == before["process.open_connections"]
    assert during["process.cpu_seconds"] > 0 and during["process.rss_bytes"] > 1_000_000


def test_both_branches_agree_on_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    posix_rss = process_figures()["process.rss_bytes"]
    monkeypatch.setenv(TEST_NON_POSIX_ENV, "1")
    portable = process_figures()
    assert portable["process.rss_bytes"] == pytest.approx(posix_rss, rel=0.2)
