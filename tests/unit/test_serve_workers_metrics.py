"""``--workers``: the background loop's request figures come from every worker's summed files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_mlops.models.serving.metrics import ServeMetrics
from jupyter_mlops.models.serving.workers import metrics_folder, release_metrics_folder


@pytest.fixture
def multiprocess() -> Iterator[None]:
    folder = metrics_folder()
    try:
        yield
    finally:
        release_metrics_folder(folder)
    assert not folder.exists()


def test_the_loop_reads_requests_it_never_answered(multiprocess: None) -> None:
    worker = ServeMetrics()  # answers requests: its own ring
    for seconds in (0.003, 0.004, 0.02):
        worker.observe_request(200, seconds, 1, "1")
    worker.observe_request(500, 0.2, 1, "1")
    worker.observe_request(200, 0.003, 1, "2", "challenger")
    loop = ServeMetrics()  # answered nothing: reads the multiprocess files
    figures = loop.request_figures("1")
    assert figures["error_rate"] == 0.25
    # percentiles are the upper bounds of the histogram buckets they fall in
    assert figures["request_duration_p50"] == 0.005
    assert figures["request_duration_p99"] == 0.25
    assert loop.totals("1")["requests_total"] == 4 and loop.totals()["requests_total"] == 5
    assert loop.totals("2")["rows_scored_total"] == 1
    text = loop.render().decode()
    assert 'mlops_requests_total{role="champion",status="500",version="1"} 1.0' in text


def test_single_process_metrics_come_back_after_the_folder_is_released() -> None:
    folder = metrics_folder()
    release_metrics_folder(folder)
    m = ServeMetrics()
    assert not m.multiprocess
    m.observe_request(200, 0.01, 1, "1")
    assert m.totals()["requests_total"] == 1
