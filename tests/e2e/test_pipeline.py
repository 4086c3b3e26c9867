"""The real daemon end to end: video file + test pattern in, real recognition, real ffmpeg HLS, real gunicorn out."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from facedaemon.pipeline.camera import RESULT_MAX_AGE
from tests.e2e.media import colour_pixels, decode_video, gallery, make_people_clip

pytestmark = pytest.mark.e2e

GREEN = (0, 200, 0)  # annotate.draw.KNOWN_COLOUR
RED = (0, 0, 220)  # annotate.draw.UNKNOWN_COLOUR
METRICS = (
    "facedaemon_frames_captured_total", "facedaemon_frames_output_total", "facedaemon_frames_dropped_total",
    "facedaemon_frame_latency_seconds_bucket", "facedaemon_inference_seconds_bucket",
    "facedaemon_faces_detected_total", "facedaemon_camera_up", "facedaemon_encoder_restarts_total",
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, shared_data, run_module_daemon):
    tmp = tmp_path_factory.mktemp("e2e")
    faces = tmp / "faces"
    gallery(shared_data, faces, others=True)  # Obama, and four other people in the seed's flat layout
    clip = make_people_clip(shared_data, tmp / "people.mp4")
    cameras = {
        "people": {"source": str(clip), "loop": True},
        "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False},
    }
    return run_module_daemon(tmp, cameras, faces)


def playlist(daemon, camera: str) -> tuple[str, list[str]]:
    text = daemon.get(f"/hls/{camera}/index.m3u8").text
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    segments = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert text.startswith("#EXTM3U") and init and segments, text
    return init.group(1), segments


def fetch_stream(daemon, camera: str, tmp: Path, after: str | None = None, count: int = 2,
                 meanwhile=lambda: None) -> Path:
    """Download init + the newest `count` segments (newer than `after`) over HTTP into one playable file;
    `meanwhile` is called at each poll while waiting for them."""
    def fresh():
        meanwhile()
        init, segments = playlist(daemon, camera)
        newer = segments[segments.index(after) + 1:] if after in segments else segments
        return (init, newer[-count:]) if len(newer) >= count else None

    init, segments = daemon.wait_for(fresh, 30, f"{count} new segments of {camera}", interval=0.25)
    out = tmp / f"{camera}.mp4"
    with out.open("wb") as handle:
        for name in (init, *segments):
            response = daemon.get(f"/hls/{camera}/{name}")
            assert response.status_code == 200, name
            handle.write(response.content)
    return out


def test_page_shows_a_player_per_camera(daemon):
    page = daemon.get("/")
    assert page.status_code == 200
    for camera in ("people", "pattern"):
        assert camera in page.text
    script = re.search(r'<script[^>]+src="([^"]+)"', page.text)
    assert script and daemon.get(script.group(1)).status_code == 200


def test_api_names_the_known_face_and_marks_the_stranger(daemon):
    def faces():
        return daemon.get("/api/cameras/people/faces").json()["faces"]

    obama = daemon.wait_for(lambda: [f for f in faces() if f["name"] == "Obama"], 60, "Obama on the API")[0]
    assert 0.5 < obama["confidence"] <= 1.0
    top, right, bottom, left = obama["box"]
    assert 0 <= left < right <= 1280 and 0 <= top < bottom <= 720
    assert 100 <= bottom - top <= 260, obama  # the clip's face is ~150 px tall
    # Biden (not enrolled) is on screen 2 s of every 6.
    daemon.wait_for(lambda: [f for f in faces() if f["name"] == "Unknown"], 30, "the unknown face on the API")


def test_hls_over_http_carries_boxes_and_names_on_every_frame(daemon, tmp_path):
    daemon.wait_for(lambda: any(f["name"] == "Obama" for f in daemon.get("/api/cameras/people/faces").json()
                                ["faces"]), 60, "Obama recognised")
    # The segment being written when the API first named him began before that: it starts without the box. Skip
    # it (the newest segment once one more is listed) and check the four after it.
    _, before = playlist(daemon, "people")

    def one_more() -> list[str] | None:
        _, listed = playlist(daemon, "people")
        return listed if listed[-1] != before[-1] else None

    segments = daemon.wait_for(one_more, 30, "the segment in progress finished")
    ages = []  # how old the worker's newest result is while the segments are made

    def newest_result_age() -> float:
        ages.append(time.time() - daemon.get("/api/cameras/people/faces").json()["time"])
        return ages[-1]

    frames = decode_video(fetch_stream(daemon, "people", tmp_path, after=segments[-1], count=4,
                                       meanwhile=newest_result_age))
    assert len(frames) >= 80, "four 1 s segments at 30 fps"
    assert frames[0].shape == (720, 1280, 3)
    # Obama is on screen all the time: his green box must be on (nearly) every frame, not every other one.
    # Results older than RESULT_MAX_AGE are not drawn (a worker down or far behind), so on a very busy machine a
    # few frames lose the box while the worker lags (seen: 3-4 frames in a row with results 2.0 s old).
    boxed = [colour_pixels(frame, GREEN) > 400 for frame in frames]
    lag = f"newest result up to {max(ages, default=0):.1f} s old (boxes are dropped past {RESULT_MAX_AGE} s)"
    missing = [i for i, ok in enumerate(boxed) if not ok]
    lag += f"; frames without it: {missing}"
    assert sum(boxed) >= 0.95 * len(frames), f"green box on {sum(boxed)}/{len(frames)} frames; {lag}"


def test_pattern_camera_streams_without_recognition(daemon, tmp_path):
    frames = decode_video(fetch_stream(daemon, "pattern", tmp_path, count=1))
    assert len(frames) >= 10 and frames[0].shape == (360, 640, 3)
    assert (frames[0] != frames[-1]).any(), "the pattern moves"


def test_api_cameras_reports_state_and_fps(daemon):
    cameras = {c["name"]: c for c in daemon.get("/api/cameras").json()}
    assert set(cameras) == {"people", "pattern"}
    assert cameras["people"]["state"] == "streaming"
    # Loose on purpose (a busy 2-core machine slows everything): a 3x slower pipeline fails; the sources' own
    # rate is held tightly by tests/integration/test_sources.py and tests/unit/test_source_pacing.py.
    assert 30 / 3 <= cameras["people"]["fps"] <= 32, cameras["people"]
    assert 15 / 3 <= cameras["pattern"]["fps"] <= 16, cameras["pattern"]


def test_metrics_are_exported_per_camera(daemon):
    def scrape():
        text = daemon.get("/metrics").text
        value = re.search(r'^facedaemon_faces_detected_total\{camera="people"\} (\S+)$', text, re.M)
        return text if value and float(value.group(1)) > 0 else None

    text = daemon.wait_for(scrape, 30, "faces counted in /metrics")
    for name in METRICS:
        assert re.search(rf'^{name}\{{[^}}]*camera="people"', text, re.M), name
    output = float(re.search(r'^facedaemon_frames_output_total\{camera="people"\} (\S+)$', text, re.M).group(1))
    assert output > 30
    assert 'person="Obama"' not in text, "person names stay out of labels unless metrics.person_labels"


def test_sigterm_stops_everything_within_10_seconds(daemon):
    children = daemon.seen_pids
    assert len(children) >= 4, "ffmpeg ×2, gunicorn master + worker, recognition worker"
    elapsed = daemon.stop(signal.SIGTERM)
    assert daemon.process.returncode == 0
    assert elapsed < 10
    assert daemon.kill_leftovers() == [], "processes left behind after SIGTERM"
    assert not (daemon.runtime_dir / "status.json").exists()
