"""docs/monitoring.md stays true: its dashboard and scrape config parse and name real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from jupyter_mlops.models.serving.alerts import METRICS
from jupyter_mlops.models.serving.metrics import ServeMetrics

PAGE = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.S)


def _exported() -> set[str]:
    names = set()
    for family in ServeMetrics().registry.collect():
        names.add(family.name)
        names.update({f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"})
    return names


def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads(max(_blocks("json"), key=len))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bmlops_[a-z_]+", e)}
    assert used and used <= _exported(), used - _exported()
    assert {"mlops_requests_total", "mlops_drift_share_drifted"} <= used


def test_scrape_config_is_valid_yaml() -> None:
    config = yaml.safe_load(_blocks("yaml")[0])
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"]


def test_every_alert_metric_is_documented() -> None:
    text = PAGE.read_text()
    assert all(f"`{name}`" in text for name in METRICS)
