"""SIGHUP on the real daemon: a valid config restarts only the changed cameras; an invalid one changes nothing."""

from __future__ import annotations

import json
import re
import shutil
import signal
import time

import pytest
import requests
import yaml
from werkzeug.security import generate_password_hash

from devtools.daemon import status, write_config
from devtools.processes import alive, cmdline, descendants, free_port
from devtools.webhook import Receiver
from tests.e2e.media import make_people_clip, obama_gallery

PASSWORD = "reload-test-password"

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


def metric_lines(daemon, name: str) -> list[str]:
    return [line for line in daemon.get("/metrics", auth=("alice", PASSWORD)).text.splitlines()
            if line.startswith(name + "{")]


def test_sighup_applies_metrics_events_and_auth_live(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    daemon = run_daemon(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces, timeout=180)
    receiver = Receiver()
    try:
        daemon.wait_for(lambda: 'person="known"' in "".join(metric_lines(daemon, "facedaemon_faces_recognized_total")),
                        120, "Obama counted as person=known")
        assert daemon.get("/api/cameras").status_code == 200 and " DEBUG " not in daemon.log()
        gunicorn = [pid for pid in descendants(daemon.process.pid) if "gunicorn" in cmdline(pid)]

        document = yaml.safe_load(daemon.config_path.read_text())
        document["log_level"] = "debug"
        document["metrics"] = {"person_labels": True}
        document["events"] = {"webhook": {"url": receiver.url, "timeout": 2}}
        document["auth"] = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)}}
        daemon.config_path.write_text(yaml.safe_dump(document))
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for(lambda: "apply log_level, metrics live" in daemon.log(), 30, "the reload plan in the log")
        assert "restart web" in daemon.log() and "restart events" in daemon.log()

        # auth: the web app restarts with it; the page now needs a login, /healthz stays public.
        daemon.wait_for(lambda: daemon.get("/api/cameras").status_code == 401, 30, "a login required")
        assert daemon.get("/api/cameras", auth=("alice", PASSWORD)).status_code == 200
        assert daemon.get("/healthz").status_code == 200
        assert not any(pid in descendants(daemon.process.pid) for pid in gunicorn), "gunicorn was replaced"
        # events: the new webhook gets Obama (present, so recognised anew by the restarted sinks).
        hooked = lambda: any("Obama" in json.dumps(body) for body in receiver.bodies)  # noqa: E731
        daemon.wait_for(hooked, 60, "Obama at the new webhook")
        # metrics: tracks named from now on carry the person's name (the clip's loop starts new tracks).
        daemon.wait_for(lambda: 'person="Obama"' in "".join(metric_lines(daemon, "facedaemon_faces_recognized_total")),
                        60, 'person="Obama" in /metrics')
        assert daemon.process.poll() is None and "Traceback" not in daemon.log()
    finally:
        receiver.close()


def test_sighup_log_level_debug_reaches_the_recognition_worker(tmp_path, shared_data, run_daemon):
    cameras = {"pattern": {"source": "pattern", "width": 320, "height": 240, "fps": 10}}
    daemon = run_daemon(tmp_path, cameras, timeout=120)
    daemon.wait_for(lambda: "recognition: ready" in daemon.log(), 120, "the worker ready")
    document = yaml.safe_load(daemon.config_path.read_text())
    document["log_level"] = "debug"
    daemon.config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "apply log_level live" in daemon.log(), 30, "the reload plan in the log")
    # A photo with EXIF: loading it logs PIL's debug lines in the worker (seen when started at debug).
    (tmp_path / "faces" / "Obama").mkdir()
    shutil.copy(shared_data / "images" / "obama.jpg", tmp_path / "faces" / "Obama" / "obama.jpg")
    daemon.wait_for(lambda: "recognition: ready, 1 people" in daemon.log(), 60, "the gallery reloaded")
    assert " DEBUG " in daemon.log(), "no debug line after log_level: debug and a gallery reload"


def test_sighup_moves_the_web_server_to_a_new_http_listen(tmp_path, run_daemon):
    cameras = {"a": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    daemon = run_daemon(tmp_path, cameras, timeout=60)
    old_url, new_port = daemon.base_url, free_port()
    document = yaml.safe_load(daemon.config_path.read_text())
    document["http"] = {"listen": f"127.0.0.1:{new_port}"}
    daemon.config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.base_url = f"http://127.0.0.1:{new_port}"
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 30, "/healthz on the new port")

    def old_port_closed() -> bool:
        try:
            requests.get(old_url + "/healthz", timeout=2)
        except requests.ConnectionError:
            return True
        return False

    daemon.wait_for(old_port_closed, 15, "the old port to be closed")
    assert ffmpeg_pids(daemon).keys() == {"a"}, "the camera kept streaming"


def worker_pids(daemon) -> list[int]:
    """Every recognition worker pid the daemon logged, oldest first."""
    return [int(pid) for pid in re.findall(r"recognition: worker started \(pid (\d+)\)", daemon.log())]


def camera_ffmpeg(daemon, camera: str) -> int | None:
    return next((pid for pid in descendants(daemon.process.pid) if f"/{camera}/index.m3u8" in cmdline(pid)), None)


def recognized(daemon, person: str) -> float:
    """facedaemon_faces_recognized_total summed over the lines labelled person=`person`."""
    lines = [line for line in daemon.get("/metrics").text.splitlines()
             if line.startswith("facedaemon_faces_recognized_total{") and f'person="{person}"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_sighup_recognition_tolerance_restarts_the_worker_and_takes_effect(tmp_path, shared_data, run_daemon):
    # Start nearly blind (tolerance 0.05: Obama matches nobody, he is counted unknown), then loosen it live.
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    daemon = run_daemon(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces, timeout=180,
                        recognition={"tolerance": 0.05})
    daemon.wait_for(lambda: recognized(daemon, "unknown") > 0, 120, "a face counted unknown at tolerance 0.05")
    assert recognized(daemon, "known") == 0, "nobody matches at tolerance 0.05"
    first_worker = worker_pids(daemon)[-1]
    ffmpeg = camera_ffmpeg(daemon, "people")
    assert ffmpeg is not None

    document = yaml.safe_load(daemon.config_path.read_text())
    document["recognition"]["tolerance"] = 0.6
    daemon.config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "restart recognition" in daemon.log(), 30, "the reload plan in the log")
    assert "restart camera" not in daemon.log(), "a recognition change restarts no camera"
    new_worker = daemon.wait_for(lambda: [p for p in worker_pids(daemon) if p != first_worker], 60,
                                 "a new recognition worker")[-1]
    assert not alive(first_worker) or first_worker not in descendants(daemon.process.pid), "the old worker is gone"
    daemon.wait_for(lambda: recognized(daemon, "known") > 0, 120, "Obama known at tolerance 0.6")
    assert camera_ffmpeg(daemon, "people") == ffmpeg, "the camera kept its ffmpeg: it never stopped streaming"
    assert streaming(daemon, ["people"]) and new_worker in descendants(daemon.process.pid)
    assert daemon.process.poll() is None and "Traceback" not in daemon.log()
