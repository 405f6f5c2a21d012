"""The Grafana dashboard in docs/ only queries metrics the service really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import bitrix1c.monitor.metrics  # noqa: F401  (registers the metrics)

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def test_dashboard_queries_exported_metrics() -> None:
    exported = set()
    for family in REGISTRY.collect():
        for sample in family.samples:
            exported.add(sample.name)
        exported.add(family.name)
        exported.add(family.name + "_total")
        exported.update(family.name + s for s in ("_bucket", "_sum", "_count"))
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used.update(re.findall(r"\bbitrix1c_[a-z_]+", target["expr"]))
    assert used, "the dashboard queries nothing"
    assert used <= exported, f"not exported: {sorted(used - exported)}"
