"""etc/prometheus and etc/grafana against a real Prometheus scraping the real daemon.

Every expression of the Grafana dashboard must return data, every alert rule must load and evaluate.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import requests
import yaml

from devtools.daemon import write_config
from tests.e2e.media import make_people_clip, obama_gallery
from tests.e2e.prometheus_server import (
    CAMERA,
    RULES,
    SCRAPE_CONFIG,
    TARGETS,
    Prometheus,
    alert_rules,
    dashboard,
    dashboard_expressions,
    finite_values,
    tool,
)

pytestmark = pytest.mark.e2e

# -- the files on their own ----------------------------------------------------------------------------------------
def test_dashboard_is_an_importable_grafana_dashboard():
    board = dashboard()
    assert 36 <= board["schemaVersion"] <= 41
    assert board["uid"] and board["title"] and board["id"] is None
    assert [item["name"] for item in board["__inputs"]] == ["DS_PROMETHEUS"]
    variables = {item["name"]: item for item in board["templating"]["list"]}
    assert list(variables) == ["device", "camera"]
    assert variables["device"]["definition"] == 'label_values(up{job="facedaemon"}, device)'
    camera = variables["camera"]
    assert camera["definition"] == 'label_values(facedaemon_camera_up{device=~"$device"}, camera)'
    assert camera["datasource"]["uid"] == "${DS_PROMETHEUS}"
    ids, refs = set(), set()
    for panel in board["panels"]:
        assert panel["id"] not in ids, f"duplicate panel id {panel['id']}"
        ids.add(panel["id"])
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        letters = [target["refId"] for target in panel["targets"]]
        assert len(letters) == len(set(letters)) and panel["targets"], panel["title"]
        refs.update(target["datasource"]["uid"] for target in panel["targets"])
    assert refs == {"${DS_PROMETHEUS}"}
    text = " ".join(expr for _title, expr in dashboard_expressions())
    for metric in ("facedaemon_frames_output_total", "facedaemon_frames_captured_total",
                   "facedaemon_frame_latency_seconds_bucket", "facedaemon_inference_seconds_bucket",
                   "facedaemon_faces_detected_total", "facedaemon_camera_up", "facedaemon_restarts_total",
                   "facedaemon_process_cpu_seconds_total", "facedaemon_process_resident_memory_bytes"):
        assert metric in text, f"the dashboard does not show {metric}"
    assert "histogram_quantile(0.95" in text
    for title, expr in dashboard_expressions():  # every query can be narrowed to devices: none mixes two
        assert 'device=~".*"' in expr, f"{title}: no $device selector in {expr}"
        assert "by (" not in expr or "by (device" in expr, f"{title}: aggregates devices together: {expr}"


def test_the_targets_example_names_each_device():
    groups = yaml.safe_load(TARGETS.read_text())
    assert groups and all(group["targets"] and group["labels"]["device"] for group in groups)


def test_promtool_accepts_the_rules_and_the_scrape_config():
    promtool = tool("promtool")
    rules = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in rules.stdout
    config = subprocess.run([promtool, "check", "config", str(SCRAPE_CONFIG)], capture_output=True, text=True,
                            timeout=60)
    assert config.returncode == 0, config.stdout + config.stderr
    assert "SUCCESS: 1 rule files found" in config.stdout  # the example's rule_files path resolves


# -- a real Prometheus scraping the real daemon --------------------------------------------------------------------
@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, shared_data, run_module_daemon):
    binary, promtool = tool("prometheus"), tool("promtool")
    tmp = tmp_path_factory.mktemp("prometheus")
    faces = obama_gallery(shared_data, tmp / "faces")
    clip = make_people_clip(shared_data, tmp / "people.mp4")
    cameras = {
        CAMERA: {"source": str(clip), "loop": True},
        "pattern": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False},
    }
    config_path, port = write_config(tmp, cameras, faces)
    server = Prometheus(tmp, {f"127.0.0.1:{port}": None})  # no device label: the relabelling names it
    checked = server.check_config(promtool)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    run_module_daemon.start(tmp, config_path, port)
    try:
        server.start(binary)
        server.wait_for(lambda: requests.get(server.url + "/-/ready", timeout=5).status_code == 200, 60,
                        "prometheus to be ready")
        yield server
    finally:
        server.stop()


def test_prometheus_scrapes_the_daemon(prometheus):
    def target_up():
        targets = prometheus.api("/api/v1/targets")["activeTargets"]
        return targets and all(target["health"] == "up" for target in targets) and targets

    targets = prometheus.wait_for(target_up, 60, "the facedaemon target to be up")
    assert [target["labels"]["job"] for target in targets] == ["facedaemon"]
    assert [target["labels"]["device"] for target in targets] == ["127.0.0.1"]  # the host, without the port


@pytest.mark.parametrize(("title", "expr"), dashboard_expressions(), ids=lambda value: re.sub(r"\W+", "_", value)[:60])
def test_every_dashboard_query_returns_data(prometheus, title, expr):
    def data():
        result = prometheus.api("/api/v1/query", query=expr)["result"]
        return finite_values(result) and result

    result = prometheus.wait_for(data, 120, f"data for panel {title!r}: {expr}")
    cameras = {item["metric"].get("camera") for item in result}
    assert cameras <= {CAMERA, None}, f"{title}: $camera did not filter: {cameras}"


def test_every_alert_rule_loads_and_evaluates(prometheus):
    rules = alert_rules()
    for rule in rules:
        prometheus.api("/api/v1/query", query=rule["expr"])  # a PromQL error would fail here

    def all_ok():
        loaded = [rule for group in prometheus.api("/api/v1/rules")["groups"] for rule in group["rules"]]
        health = {rule["name"]: rule["health"] for rule in loaded}
        return len(loaded) == len(rules) and all(value == "ok" for value in health.values()) and health

    health = prometheus.wait_for(all_ok, 60, "every rule to be evaluated with health ok")
    assert set(health) == {rule["alert"] for rule in rules}


def test_a_healthy_daemon_raises_no_alert_but_a_down_camera_would(prometheus):
    prometheus.wait_for(lambda: prometheus.api("/api/v1/query", query='facedaemon_camera_up{job="facedaemon"}')
                        ["result"], 60, "camera_up series")
    down = next(rule for rule in alert_rules() if rule["alert"] == "FacedaemonCameraDown")
    assert prometheus.api("/api/v1/query", query=down["expr"])["result"] == []
    inverted = down["expr"].replace("== 0", "== 1")  # the same selector does match the live cameras
    matched = {item["metric"]["camera"] for item in prometheus.api("/api/v1/query", query=inverted)["result"]}
    assert matched == {CAMERA, "pattern"}
