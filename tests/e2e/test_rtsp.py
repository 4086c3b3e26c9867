"""RTSP output end to end: the real daemon, GStreamer's RTSP server, and ffmpeg as the RTSP client (like VLC,
ffplay or an NVR would pull it)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from devtools.daemon import Daemons, RunningDaemon
from devtools.processes import SYSTEM_PYTHON, descendants, free_port, system_python_problem
from facedaemon.outputs.rtsp.server import PACKAGES, SIDECAR
from tests import ffmpegs
from tests.realparts import missing

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT, FPS = 320, 240, 10


def gstreamer_problem() -> str | None:
    return system_python_problem(SIDECAR)


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def start_rtsp_daemon(daemons: Daemons, tmp: Path, encoder: dict | None = None, **rtsp) -> tuple[RunningDaemon, str]:
    port = free_port()
    cameras = {"door": {"source": "pattern", "width": WIDTH, "height": HEIGHT, "fps": FPS, "recognize": False,
                        "rtsp": True}}
    more = {} if encoder is None else {"encoder": encoder}
    daemon = daemons(tmp, cameras, rtsp={"listen": f"127.0.0.1:{port}", **rtsp}, timeout=90, **more)
    return daemon, f"rtsp://127.0.0.1:{port}/door"


@pytest.fixture(scope="module")
def served(tmp_path_factory, run_module_daemon):
    problem = gstreamer_problem()
    if problem is not None:
        missing("GStreamer RTSP server", f"not usable under {SYSTEM_PYTHON} ({problem}); install the Debian "
                f"packages {PACKAGES} (scripts/test-deps)")
    daemon, url = start_rtsp_daemon(run_module_daemon, tmp_path_factory.mktemp("rtsp"))
    daemon.wait_for(lambda: "RTSP serving" in daemon.log(), 30, "the RTSP server to serve door")
    return daemon, url


class Client:
    """ffmpeg pulling the RTSP stream over TCP for `seconds`, decoding every frame to raw BGR."""

    def __init__(self, ffmpeg: str, url: str, seconds: float, tmp: Path, name: str) -> None:
        self.seconds = seconds
        self.raw = tmp / f"{name}.bgr"
        self.err = tmp / f"{name}.log"
        with self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-t", f"{seconds:g}",
                 "-f", "rawvideo", "-pix_fmt", "bgr24", "-y", str(self.raw)],
                stdout=subprocess.DEVNULL, stderr=err)

    def result(self) -> tuple[np.ndarray, str]:
        try:
            self.process.wait(self.seconds + 30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        log = self.err.read_text(errors="replace")
        assert self.process.returncode == 0, log[-2000:]
        size = re.search(r"Video: h264.*?, (\d+)x(\d+)", log)
        assert size, log[-2000:]
        width, height = int(size[1]), int(size[2])
        data = np.frombuffer(self.raw.read_bytes(), np.uint8)
        return data[: data.size - data.size % (width * height * 3)].reshape(-1, height, width, 3), log


def assert_good_stream(frames: np.ndarray, log: str, seconds: float) -> None:
    assert frames.shape[1:] == (HEIGHT, WIDTH, 3)
    # Loose: the client may wait up to a segment for the first keyframe, and the machine is shared.
    assert FPS * seconds * 0.4 <= len(frames) <= FPS * seconds * 1.3, f"{len(frames)} frames in {seconds} s"
    assert frames.mean() > 20, "frames decode to a picture, not black"
    assert not np.array_equal(frames[0], frames[-1]), "the pattern moves: frames are live, not a still"
    assert "corrupt" not in log and "error while decoding" not in log, log[-2000:]


def test_client_gets_the_stream_at_the_source_size_and_rate(served, ffmpeg, tmp_path):
    _daemon, url = served
    frames, log = Client(ffmpeg, url, 6, tmp_path, "one").result()
    assert_good_stream(frames, log, 6)
    assert re.search(r"Video: h264.*, (\d+(\.\d+)?) fps", log), log[-1000:]


def test_two_clients_at_once(served, ffmpeg, tmp_path):
    daemon, url = served
    clients = [Client(ffmpeg, url, 5, tmp_path, name) for name in ("first", "second")]
    for client in clients:
        frames, log = client.result()
        assert_good_stream(frames, log, 5)
    daemon.wait_for(lambda: "RTSP viewer left (0 watching)" in daemon.log(), 20, "both viewers to be gone")
    assert "camera door: RTSP viewer started (2 watching)" in daemon.log()


def newest_segment(daemon) -> str:
    lines = daemon.get("/hls/door/index.m3u8").text.splitlines()
    return [line for line in lines if line.startswith("seg_")][-1]


def test_hls_keeps_going_while_clients_come_and_go(served, ffmpeg, tmp_path):
    daemon, url = served
    before = newest_segment(daemon)
    for round_ in range(4):
        client = Client(ffmpeg, url, 30, tmp_path, f"brief{round_}")
        time.sleep(1.5)
        client.process.send_signal(signal.SIGKILL)  # a viewer that vanishes without TEARDOWN
        client.process.wait()
    daemon.wait_for(lambda: newest_segment(daemon) != before, 20, "new HLS segments")
    assert daemon.get("/healthz").status_code == 200
    frames, log = Client(ffmpeg, url, 4, tmp_path, "after").result()
    assert_good_stream(frames, log, 4)


def sidecars(daemon) -> list[int]:
    found = []
    for pid in descendants(daemon.process.pid):
        try:
            if str(SIDECAR).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def test_a_dead_server_is_restarted_and_hls_never_stops(served, ffmpeg, tmp_path):
    daemon, url = served
    [pid] = sidecars(daemon)
    encoder_pids = {p for p in descendants(daemon.process.pid) if b"ffmpeg" in Path(f"/proc/{p}/cmdline").read_bytes()}
    before = newest_segment(daemon)
    os.kill(pid, signal.SIGKILL)
    daemon.wait_for(lambda: "rtsp: server exited with -9" in daemon.log(), 20, "the daemon to notice")
    daemon.wait_for(lambda: sidecars(daemon) and sidecars(daemon) != [pid], 30, "a new RTSP server")
    daemon.wait_for(lambda: newest_segment(daemon) != before, 20, "new HLS segments")
    still = {p for p in descendants(daemon.process.pid) if b"ffmpeg" in Path(f"/proc/{p}/cmdline").read_bytes()}
    assert encoder_pids <= still, "the encoder was not restarted: HLS never noticed"
    daemon.wait_for(lambda: daemon.log().count("camera door: RTSP serving") >= 2, 20, "the mount to be back")
    frames, log = Client(ffmpeg, url, 4, tmp_path, "again").result()
    assert_good_stream(frames, log, 4)


def test_without_gstreamer_rtsp_is_off_and_hls_runs(tmp_path, run_daemon):
    daemon, _url = start_rtsp_daemon(run_daemon, tmp_path, python="/nonexistent/python3")
    daemon.wait_for(lambda: daemon.get("/hls/door/index.m3u8").status_code == 200, 30, "the HLS playlist")
    daemon.wait_for(lambda: newest_segment(daemon), 30, "HLS segments")
    lines = [line for line in daemon.log().splitlines() if "RTSP output is off" in line]
    assert len(lines) == 1, daemon.log()
    assert "door" in lines[0] and "/nonexistent/python3 not found" in lines[0] and "python3-gi" in lines[0]
    assert not sidecars(daemon)
    for pid in descendants(daemon.process.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            # The tee stays for the live path's fMP4; no H.264 output for an RTSP server that is not there.
            assert b"[f=h264" not in handle.read(), "no H.264 output without a server"


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sighup_moves_rtsp_to_a_new_port(tmp_path, run_daemon, ffmpeg):
    problem = gstreamer_problem()
    if problem is not None:
        missing("GStreamer RTSP server", f"not usable under {SYSTEM_PYTHON} ({problem})")
    daemon, old_url = start_rtsp_daemon(run_daemon, tmp_path)
    daemon.wait_for(lambda: "RTSP serving" in daemon.log(), 30, "the RTSP server to serve door")
    [old_sidecar] = sidecars(daemon)
    old_port, new_port = int(old_url.split(":")[2].split("/")[0]), free_port()

    document = yaml.safe_load(daemon.config_path.read_text())
    document["rtsp"]["listen"] = f"127.0.0.1:{new_port}"
    daemon.config_path.write_text(yaml.safe_dump(document))
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "restart RTSP" in daemon.log(), 30, "the reload plan in the log")
    daemon.wait_for(lambda: sidecars(daemon) and old_sidecar not in sidecars(daemon), 30, "a new RTSP server")
    daemon.wait_for(lambda: daemon.log().count("camera door: RTSP serving") >= 2, 30, "the mount on the new server")
    frames, log = Client(ffmpeg, f"rtsp://127.0.0.1:{new_port}/door", 4, tmp_path, "moved").result()
    assert_good_stream(frames, log, 4)
    assert not port_open(old_port), "the old RTSP port is closed"
    assert daemon.get("/healthz").status_code == 200 and "Traceback" not in daemon.log()


def hls_frames(daemon: RunningDaemon, tmp: Path) -> list[np.ndarray]:
    """init.mp4 + the listed segments fetched over HTTP and decoded."""
    import cv2

    playlist = daemon.get("/hls/door/index.m3u8").text
    joined = tmp / "hls.mp4"
    with joined.open("wb") as out:
        for name in ["init.mp4", *(line for line in playlist.splitlines() if line.endswith(".m4s"))]:
            reply = daemon.get(f"/hls/door/{name}")
            assert reply.status_code == 200, name
            out.write(reply.content)
    capture, frames = cv2.VideoCapture(str(joined)), []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    return frames


def test_debian_ffmpeg_chosen_by_the_daemon_serves_hls_and_rtsp(tmp_path, run_daemon, ffmpeg):
    """Debian's ffmpeg (5.1 on bookworm; the bundled one is 9.x): the daemon picks it by itself when installed
    (encoder.ffmpeg unset), and the same arguments give decodable HLS over HTTP and, through the tee, RTSP."""
    debian = ffmpegs.debian()
    problem = gstreamer_problem()
    if problem is not None:
        missing("GStreamer RTSP server", f"not usable under {SYSTEM_PYTHON} ({problem})")
    daemon, url = start_rtsp_daemon(run_daemon, tmp_path, encoder={"ffmpeg": None})
    daemon.wait_for(lambda: "RTSP serving" in daemon.log(), 30, "the RTSP server to serve door")
    encoders = [pid for pid in descendants(daemon.process.pid)
                if b"tee" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    assert [os.path.realpath(f"/proc/{pid}/exe") for pid in encoders] == [os.path.realpath(debian)]
    frames, log = Client(ffmpeg, url, 5, tmp_path, "debian").result()
    assert_good_stream(frames, log, 5)
    daemon.wait_for(lambda: len(hls_frames(daemon, tmp_path)) >= 2 * FPS, 30, "two seconds of HLS")
    decoded = hls_frames(daemon, tmp_path)
    assert {frame.shape for frame in decoded} == {(HEIGHT, WIDTH, 3)}
    assert not np.array_equal(decoded[0], decoded[-1]), "HLS carries the moving pattern"
    assert "Traceback" not in daemon.log()
