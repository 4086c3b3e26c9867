"""SIGHUP on the real daemon: a valid config restarts only the changed cameras; an invalid one changes nothing."""

from __future__ import annotations

import signal
import time

import pytest
import yaml

from tests.e2e.daemon import cmdline, descendants, status, write_config

pytestmark = pytest.mark.e2e


def ffmpeg_pids(daemon) -> dict[str, int]:
    pids = {}
    for pid in descendants(daemon.process.pid):
        args = cmdline(pid)
        for camera in ("a", "b", "c"):
            if f"/{camera}/index.m3u8" in args:
                pids[camera] = pid
    return pids


def streaming(daemon, names) -> bool:
    cameras = status(daemon)["cameras"]
    return all(cameras.get(name, {}).get("state") == "streaming" for name in names)


def test_sighup_applies_a_valid_config_and_refuses_an_invalid_one(tmp_path, run_daemon):
    (tmp_path / "faces").mkdir()
    pattern = {"source": "pattern", "width": 320, "height": 240, "recognize": False}
    cameras = {"a": {**pattern, "fps": 10}, "b": {**pattern, "fps": 10}}
    config_path, port = write_config(tmp_path, cameras, tmp_path / "faces")
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    daemon.wait_for(lambda: streaming(daemon, "ab") and len(ffmpeg_pids(daemon)) == 2, 60, "a and b")
    before = ffmpeg_pids(daemon)

    document = yaml.safe_load(config_path.read_text())
    document["cameras"]["b"]["fps"] = 5  # changed: b restarts
    document["cameras"]["c"] = {**pattern, "fps": 10}  # added
    config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: streaming(daemon, "abc") and len(ffmpeg_pids(daemon)) == 3, 30, "a, b and c")
    after = ffmpeg_pids(daemon)
    assert after["a"] == before["a"], "the unchanged camera kept its ffmpeg: it never stopped streaming"
    assert after["b"] != before["b"], "the changed camera was restarted"
    daemon.wait_for(lambda: {c["name"] for c in daemon.get("/api/cameras").json()} == {"a", "b", "c"}, 30,
                    "the web app to list camera c")

    config_path.write_text(config_path.read_text().replace("fps: 5", "fps: -1"))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "reload refused" in daemon.log(), 10, "the refusal in the log")
    assert "cameras.b.fps" in daemon.log()
    time.sleep(2)
    assert ffmpeg_pids(daemon) == after, "an invalid config restarts nothing"
    assert streaming(daemon, "abc") and daemon.get("/healthz").status_code == 200
