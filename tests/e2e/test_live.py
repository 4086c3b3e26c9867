"""The live path over real HTTP: the real daemon and gunicorn, /live/<camera> read as a browser would.

The stream is the init segment and one fragment per frame at the camera's rate, and decodes; the login and
Host rules apply; a viewer that stops reading loses only its own frames and is cut, while another keeps the
full rate.
"""

from __future__ import annotations

import base64
import re
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
import yaml
from werkzeug.security import generate_password_hash

from facedaemon.outputs.live.boxes import FragmentSplitter
from tests.e2e.media import decode_video

pytestmark = pytest.mark.e2e

PASSWORD = "live-e2e-password"
AUTH = ("alice", PASSWORD)
FPS = 30
CAMERA = {"source": "pattern", "width": 1280, "height": 720, "fps": FPS, "recognize": False}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, run_module_daemon):
    tmp = tmp_path_factory.mktemp("live")
    auth = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)}}
    return run_module_daemon(tmp, {"cam": CAMERA}, auth=auth, timeout=90)


def read_live(daemon, seconds: float) -> tuple[bytes, list[tuple[float, int]]]:
    """The body of /live/cam for `seconds`, and (arrival time, bytes so far) per chunk."""
    arrivals, body = [], b""
    with requests.get(daemon.base_url + "/live/cam", auth=AUTH, stream=True, timeout=10) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "video/mp4"
        started = time.monotonic()
        for chunk in response.iter_content(None):
            body += chunk
            arrivals.append((time.monotonic() - started, len(body)))
            if time.monotonic() - started > seconds:
                break
    return body, arrivals


def fragment_rate(body: bytes, arrivals: list[tuple[float, int]], skip: float) -> float:
    """Fragments per second that arrived after `skip` seconds (the first second holds the joining GOP)."""
    pieces = FragmentSplitter().feed(body)
    ends, total = [], 0
    for piece in pieces:
        total += len(piece.data)
        ends.append(total)
    times = [next(t for t, size in arrivals if size >= end) for end in ends[1:]]
    late = [t for t in times if t >= skip]
    return (len(late) - 1) / (late[-1] - late[0]) if len(late) > 1 else 0.0


def metric(daemon, name: str) -> float:
    text = daemon.get("/metrics", auth=AUTH).text
    found = re.search(rf'^{name}{{camera="cam",path="live"}} (\S+)$', text, re.M)
    return float(found[1]) if found else -1.0


def test_live_stream_is_an_init_then_frames_at_the_camera_rate_and_decodes(daemon, tmp_path: Path) -> None:
    body, arrivals = read_live(daemon, 5.0)
    pieces = FragmentSplitter().feed(body)
    assert pieces[0].kind == "init" and b"avcC" in pieces[0].data and b"moov" in pieces[0].data
    assert pieces[1].key, "a viewer starts at a keyframe"
    assert all(piece.kind == "fragment" for piece in pieces[1:])
    rate = fragment_rate(body, arrivals, skip=1.5)
    assert rate >= 0.7 * FPS, f"{rate:.1f} fragments/s, camera {FPS} fps"
    clip = tmp_path / "live.mp4"
    clip.write_bytes(body)
    frames = decode_video(clip)
    assert len(frames) >= len(pieces) - 2, f"{len(frames)} frames decoded of {len(pieces) - 1} fragments"
    assert frames[-1].shape == (720, 1280, 3)
    # The hub counts a frame once its last byte left the socket: the count can trail what we read by a moment.
    daemon.wait_for(lambda: metric(daemon, "facedaemon_viewer_frames_sent_total") >= len(pieces) - 1, 10,
                    "the frames sent counted")


def status_of(daemon, path: str, **kwargs) -> int:
    """The status of a GET, without reading the body (a stream that is let through never ends)."""
    with requests.get(daemon.base_url + path, stream=True, timeout=10, **kwargs) as response:
        return response.status_code


def test_live_needs_the_login_and_an_allowed_host(daemon) -> None:
    assert status_of(daemon, "/live/cam") == 401
    assert status_of(daemon, "/live/cam", auth=("alice", "wrong")) == 401
    assert status_of(daemon, "/live/cam", auth=AUTH, headers={"Host": "evil.example"}) == 403
    assert status_of(daemon, "/live/nope", auth=AUTH) == 404
    assert status_of(daemon, "/live/cam", auth=AUTH) == 200


def stalled_viewer(daemon) -> socket.socket:
    """A viewer that asks for the stream, then never reads: tiny receive buffer, so the server's send fills."""
    port = int(daemon.base_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    token = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    sock.sendall(f"GET /live/cam HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {token}\r\n\r\n".encode())
    return sock


def test_a_viewer_that_stops_reading_is_cut_and_does_not_slow_another(daemon) -> None:
    daemon.wait_for(lambda: metric(daemon, "facedaemon_viewers") == 0, 20, "earlier viewers to leave")
    dropped_before = metric(daemon, "facedaemon_viewer_frames_dropped_total")
    stalled = stalled_viewer(daemon)
    try:
        # Its buffers fill up (a few seconds: they are kept small), then its queue drops frames.
        daemon.wait_for(lambda: metric(daemon, "facedaemon_viewer_frames_dropped_total") > dropped_before, 30,
                        "the stalled viewer's frames to be dropped")
        body, arrivals = read_live(daemon, 6.0)
        rate = fragment_rate(body, arrivals, skip=1.5)
        assert rate >= 0.7 * FPS, f"the reading viewer got {rate:.1f} fragments/s beside a stalled one"
        # Cut by the worker's send deadline (15 s without progress), then the daemon sees it leave.
        daemon.wait_for(lambda: metric(daemon, "facedaemon_viewers") == 0, 60, "the stalled viewer to be cut")
    finally:
        stalled.close()


def test_viewers_past_live_max_viewers_get_a_503_and_the_first_keeps_its_stream(daemon) -> None:
    daemon.wait_for(lambda: metric(daemon, "facedaemon_viewers") == 0, 60, "earlier viewers to leave")
    document = yaml.safe_load(daemon.config_path.read_text())
    document["live"] = {"max_viewers": 1}
    daemon.config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "apply live live" in daemon.log(), 20, "the reload to apply the cap")
    with requests.get(daemon.base_url + "/live/cam", auth=AUTH, stream=True, timeout=10) as first:
        assert first.status_code == 200
        chunks = first.iter_content(None)
        next(chunks)
        daemon.wait_for(lambda: metric(daemon, "facedaemon_viewers") == 1, 20, "the first viewer counted")
        with requests.get(daemon.base_url + "/live/cam", auth=AUTH, stream=True, timeout=10) as second:
            assert second.status_code == 503, "a second viewer past the cap of 1 was let through"
            assert "live.max_viewers allows 1" in second.text, second.text
        got, started = 0, time.monotonic()
        for chunk in chunks:  # the first viewer still gets frames
            got += len(chunk)
            if time.monotonic() - started > 1.0:
                break
        assert got > 0
    assert "cam: 1 viewers, the most live.max_viewers allows" in daemon.log()
