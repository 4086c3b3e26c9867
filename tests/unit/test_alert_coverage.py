"""The shipped alert rules and Grafana dashboard against the code: every restart part the daemon counts has an alert,
and every metric the files query is one the daemon's registry exports (files only; tests/e2e/test_prometheus.py runs
them in a real Prometheus).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml

from facedaemon.metrics.registry import DaemonMetrics

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "etc" / "prometheus" / "facedaemon-rules.yml"
DASHBOARD = REPO / "etc" / "grafana" / "facedaemon-dashboard.json"
RESTARTS = "facedaemon_restarts_total"
NOT_OURS = {"up"}  # made by Prometheus itself for every target


def restart_parts(package: Path = REPO / "facedaemon") -> set[str]:
    """Every part name given to a Restarter in the package: the values of facedaemon_restarts_total's `part`."""
    parts = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Restarter":
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: a Restarter's part must be a literal"
                parts.add(first.value)
    return parts


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"]
            for target in panel.get("targets", [])]


def parts_alerted(expressions: list[str], everything: set[str]) -> set[str]:
    """The parts whose restarts some expression watches: `part="x"` or `part=~"x|y"` on the restart metric, or no
    part matcher at all (every part)."""
    covered: set[str] = set()
    for expr in expressions:
        for selector in re.findall(RESTARTS + r"\{([^}]*)\}", expr) + (
                [""] if re.search(r"\b" + RESTARTS + r"(?!\{)\b", expr) else []):
            matchers = re.findall(r'\bpart\s*(=~|!=|!~|=)\s*"([^"]*)"', selector)
            assert all(op in ("=", "=~") for op, _ in matchers), f"use part= or part=~ in {expr}"
            covered |= set(everything) if not matchers else {
                part for op, value in matchers for part in (value.split("|") if op == "=~" else [value])}
    return covered


def exported_names() -> set[str]:
    """The sample names the daemon's /metrics can carry, from its registry (label sets need not exist yet)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {family.name + suffix for family in DaemonMetrics.create().registry.collect()
            for suffix in suffixes.get(family.type, ("",))}


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(facedaemon_[a-z_]+)\b", expr)) | {name for name in NOT_OURS if f"{name}{{" in expr}


def test_every_restart_part_has_an_alert():
    parts = restart_parts()
    assert {"encoder", "capture", "worker", "web", "rtsp"} <= parts  # the scan finds the daemon's own parts
    missing = parts - parts_alerted([rule["expr"] for rule in alert_rules()], parts)
    assert not missing, f"restarts of {sorted(missing)} raise no alert: add a rule on {RESTARTS} in {RULES.name}"


def test_the_dashboard_shows_restarts_of_every_part():
    parts = restart_parts()
    missing = parts - parts_alerted(dashboard_expressions(), parts)
    assert not missing, f"the dashboard's Restarts panel does not show {sorted(missing)}"


def test_the_rules_and_the_dashboard_query_only_exported_metrics():
    exported = exported_names() | NOT_OURS
    queried = {name for expr in [rule["expr"] for rule in alert_rules()] + dashboard_expressions()
               for name in metric_names(expr)}
    assert queried - exported == set(), "queried but not exported by facedaemon/metrics/registry.py"


def test_the_checks_see_a_part_without_alert_and_an_unknown_metric():
    assert parts_alerted(['increase(facedaemon_restarts_total{part=~"web|rtsp"}[5m]) > 1'],
                         {"web", "rtsp", "worker"}) == {"web", "rtsp"}
    assert parts_alerted(["increase(facedaemon_restarts_total[5m]) > 1"], {"web", "rtsp"}) == {"web", "rtsp"}
    assert parts_alerted(['increase(facedaemon_frames_output_total{part="web"}[5m])'], {"web"}) == set()
    assert "facedaemon_encoder_restarts_total" in exported_names()  # the old names are still exported
    assert metric_names("rate(facedaemon_no_such_thing_total[1m])") - exported_names() == {
        "facedaemon_no_such_thing_total"}
