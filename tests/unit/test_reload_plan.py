"""SIGHUP plans: restart exactly what a config change touches, refuse what needs a service restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedaemon.config import load_text
from facedaemon.daemon.reload import plan_reload

BASE = """
faces_dir: faces
runtime_dir: run
cameras:
  a: {source: pattern}
  b: {source: pattern, fps: 15}
"""


def config(text: str = BASE, **sections: str):
    extra = "".join(f"{key}: {value}\n" for key, value in sections.items())
    return load_text(extra + text, source="c.yaml", base_dir=Path("/tmp"))


def test_same_config_changes_nothing():
    plan = plan_reload(config(), config())
    assert plan.empty and plan.describe() == "nothing changed"


def test_one_camera_changed_only_that_camera_restarts():
    new = config(BASE.replace("fps: 15", "fps: 10"))
    plan = plan_reload(config(), new)
    assert plan.stop == plan.start == {"b"}
    assert not (plan.restart_worker or plan.restart_web or plan.restart_rtsp)
    assert plan.describe() == "restart camera(s) b"


def test_added_and_removed_cameras_restart_the_web_app_for_its_camera_list():
    new = config(BASE.replace("  b: {source: pattern, fps: 15}", "  c: {source: pattern}"))
    plan = plan_reload(config(), new)
    assert plan.stop == {"b"} and plan.start == {"c"} and plan.restart_web
    disabled = config(BASE.replace("fps: 15}", "fps: 15, enabled: false}"))
    assert plan_reload(config(), disabled).stop == {"b"}


@pytest.mark.parametrize(("section", "value", "expect"), [
    ("recognition", "{tolerance: 0.5}", {"restart_worker": True}),
    ("http", "{listen: '127.0.0.1:9999'}", {"restart_web": True}),
    ("hls", "{segment_seconds: 2}", {"cameras": {"a", "b"}}),
    ("encoder", "{preset: veryfast}", {"cameras": {"a", "b"}}),
    ("log_level", "debug", {"live": {"log_level"}}),
    ("metrics", "{person_labels: true}", {"live": {"metrics"}}),
])
def test_sections_restart_what_they_feed(section, value, expect):
    plan = plan_reload(config(), config(**{section: value}))
    assert plan.restart_worker is expect.get("restart_worker", False)
    assert plan.restart_web is expect.get("restart_web", False)
    assert plan.start == expect.get("cameras", set())
    assert plan.live == expect.get("live", set())


def test_runtime_dir_change_is_refused():
    plan = plan_reload(config(), config(BASE.replace("runtime_dir: run", "runtime_dir: elsewhere")))
    assert plan.refused and "runtime_dir" in plan.refused


def test_rtsp_turned_on_for_a_camera_restarts_the_server_and_that_camera():
    new = config(BASE.replace("  a: {source: pattern}", "  a: {source: pattern, rtsp: true}"))
    plan = plan_reload(config(), new)
    assert plan.restart_rtsp and plan.start == {"a"}


@pytest.mark.parametrize("value", ["{retention: 7d}", "{max_mb: 50}", "{grace: 30s}", "{retention: 7d, grace: 5m}"])
def test_history_retention_size_and_grace_restart_only_the_historys_writer(value):
    plan = plan_reload(config(), config(history=value))
    assert plan.restart_history and not plan.empty
    assert not (plan.start or plan.stop or plan.restart_worker or plan.restart_web or plan.restart_events
                or plan.restart_rtsp)
    assert plan.describe() == "restart the history's writer"


@pytest.mark.parametrize(("section", "value"), [("history", "{enabled: false}"), ("state_dir", "/tmp/elsewhere")])
def test_history_on_or_off_or_moved_restarts_everything_that_reads_it(section, value):
    plan = plan_reload(config(), config(**{section: value}))
    assert plan.restart_history and plan.restart_worker and plan.restart_web and plan.start == {"a", "b"}


def test_a_new_device_name_restarts_the_historys_writer_and_the_events():
    plan = plan_reload(config(), config(device="porch"))
    assert plan.restart_history and plan.restart_events and not plan.start
