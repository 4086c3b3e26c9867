"""Issue 5's fault loops, each injected into the real daemon: an RTSP camera killed, restarted and hung, the
encoder's ffmpeg killed again and again, and SIGTERM under load.

CI runs short loops; FACEDAEMON_FULL_FAULTS=1 runs the issue's full counts (20 camera restarts, 50 ffmpeg kills,
20 SIGTERMs). Every loop prints its figures (pytest -s shows them)."""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import statistics
import time
from pathlib import Path

import pytest

from devtools.camera_server import CAMERA_SCRIPT, RtspCamera
from devtools.daemon import RunningDaemon, status, write_config
from devtools.processes import SYSTEM_PYTHON, descendants, free_port, system_python_problem
from tests.e2e.media import gallery, make_people_clip
from tests.realparts import missing

pytestmark = pytest.mark.e2e

FULL = os.environ.get("FACEDAEMON_FULL_FAULTS") == "1"
# The default run keeps every assertion with fewer rounds (was 6 / 10 / 4: ~50 s more); FULL for the long loops.
CAMERA_CYCLES = 20 if FULL else 4
FFMPEG_KILLS = 50 if FULL else 6
SIGTERM_RUNS = 20 if FULL else 2
PASSWORD = "hunter2-e2e"
RECONNECT_P95 = 10.0  # s, server back -> "streaming" again
HANG_DETECTED = 15.0  # s, server frozen -> state leaves "streaming"
# s, ffmpeg killed -> a new segment listed. Measured p50 3.2 s, max 3.3 s over 10 kills on a loaded 2-core machine:
# the median catches a 3x slower recovery (~10 s), the maximum only a stuck one, not one kill slowed by contention.
HLS_RESUME_P50 = 6.0
HLS_RESUME_MAX = 15.0
SIGTERM_EXIT = 10.0  # s


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def figures(what: str, values: list[float]) -> str:
    text = (f"{what}: n={len(values)} p50={statistics.median(values):.2f} s p95={percentile(values, 0.95):.2f} s "
            f"max={max(values):.2f} s")
    print(text)
    return text


def metric(daemon: RunningDaemon, name: str, camera: str) -> float:
    text = (daemon.runtime_dir / "metrics.prom").read_text()
    found = re.search(rf'^{name}\{{camera="{camera}"\}} (\S+)$', text, re.M)
    if not found:
        raise KeyError(f"{name} for {camera} not in metrics.prom")
    return float(found.group(1))


def camera_state(daemon: RunningDaemon, camera: str) -> str:
    return status(daemon)["cameras"][camera]["state"]


@pytest.fixture(scope="module")
def rtsp_daemon(tmp_path_factory, run_module_daemon):
    """The daemon with one RTSP camera whose server is NOT running yet."""
    problem = system_python_problem(CAMERA_SCRIPT)
    if problem is not None:
        missing("GStreamer RTSP server", f"it cannot serve a test camera under {SYSTEM_PYTHON} ({problem}); "
                "install the Debian packages in tests/debian-packages.txt (scripts/test-deps)")
    tmp = tmp_path_factory.mktemp("rtsp-faults")
    (tmp / "faces").mkdir()
    camera = RtspCamera(free_port(), tmp / "camera.log")
    # With a password (the test server asks for none, so ffmpeg never sends it): it must show nowhere.
    cameras = {"ipcam": {"source": camera.url.replace("rtsp://", f"rtsp://viewer:{PASSWORD}@"), "recognize": False}}
    config_path, port = write_config(tmp, cameras, tmp / "faces")
    daemon = run_module_daemon.start(tmp, config_path, port, ready=lambda d: status(d)["cameras"]["ipcam"],
                                     timeout=60)
    try:
        yield daemon, camera
    finally:
        camera.kill()


def wait_streaming(daemon: RunningDaemon, timeout: float, what: str) -> float:
    """Seconds until the camera is "streaming" in status.json (polled every 0.1 s)."""
    started = time.monotonic()
    daemon.wait_for(lambda: camera_state(daemon, "ipcam") == "streaming", timeout, what, interval=0.1)
    return time.monotonic() - started


def test_camera_absent_at_start_comes_up_soon_after_it_appears(rtsp_daemon):
    daemon, camera = rtsp_daemon
    # Long enough for several failed tries: the backoff must stay capped, not grow with the time spent down.
    daemon.wait_for(lambda: daemon.log().count("camera ipcam: reconnecting in") >= 5, 60, "five failed tries")
    assert camera_state(daemon, "ipcam") == "error"
    assert metric(daemon, "facedaemon_camera_up", "ipcam") == 0
    delays = [float(d) for d in re.findall(r"camera ipcam: reconnecting in (\S+) s", daemon.log())]
    assert delays[0] <= 1.0, f"backoff must start small from the very first failure: {delays}"
    assert max(delays) <= 10.0, f"backoff must be capped: {delays}"
    camera.start()
    took = wait_streaming(daemon, 30, "the camera to come up after its server started")
    print(f"camera absent at start: up {took:.2f} s after the server started (delays before: {delays})")
    assert took <= 12.0, f"camera came up {took:.1f} s after its server started"


def test_the_cameras_password_is_in_no_command_line_and_no_log(rtsp_daemon):
    daemon, camera = rtsp_daemon
    if camera.process is None:
        camera.start()
    wait_streaming(daemon, 30, "the camera streaming")
    shown = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if PASSWORD in text:
            shown.append(f"{cmdline.parent.name}: {text[:200]}")
    assert shown == [], f"the password is on a command line: {shown}"
    decoders = [line for line in daemon.log().splitlines() if "opened rtsp://" in line]
    assert decoders and PASSWORD not in daemon.log(), decoders


def test_camera_killed_and_restarted_reconnects(rtsp_daemon):
    daemon, camera = rtsp_daemon
    if camera.process is None:
        camera.start()
    wait_streaming(daemon, 30, "the camera streaming")
    rng = random.Random(5)
    times = []
    for cycle in range(CAMERA_CYCLES):
        daemon.wait_for(lambda: camera_state(daemon, "ipcam") == "streaming", 30, f"streaming before cycle {cycle}")
        time.sleep(rng.uniform(1.0, 4.0))  # stream a while
        camera.kill()
        daemon.wait_for(lambda: camera_state(daemon, "ipcam") != "streaming", 20, f"cycle {cycle}: camera down",
                        interval=0.1)
        time.sleep(rng.uniform(0.5, 3.0))  # down a while
        camera.start()
        times.append(wait_streaming(daemon, 60, f"cycle {cycle}: streaming again"))
    text = figures(f"RTSP camera reconnect over {CAMERA_CYCLES} kill/restart cycles", times)
    assert percentile(times, 0.95) <= RECONNECT_P95, text


def test_hung_camera_is_detected_and_recovers(rtsp_daemon):
    daemon, camera = rtsp_daemon
    if camera.process is None:
        camera.start()
    wait_streaming(daemon, 30, "the camera streaming")
    camera.signal(signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        daemon.wait_for(lambda: camera_state(daemon, "ipcam") != "streaming"
                        and metric(daemon, "facedaemon_camera_up", "ipcam") == 0, 40, "the hang to be detected",
                        interval=0.1)
        detected = time.monotonic() - frozen
        reason = status(daemon)["cameras"]["ipcam"]["reason"]
    finally:
        camera.signal(signal.SIGCONT)
    recovered = wait_streaming(daemon, 60, "streaming again after SIGCONT")
    print(f"hung camera: detected after {detected:.2f} s ({reason}); streaming {recovered:.2f} s after SIGCONT")
    assert detected <= HANG_DETECTED, f"hang detected after {detected:.1f} s"


# -- the encoder's ffmpeg killed again and again ---------------------------------------------------------------

@pytest.fixture(scope="module")
def pattern_daemon(tmp_path_factory, run_module_daemon):
    tmp = tmp_path_factory.mktemp("ffmpeg-kills")
    (tmp / "faces").mkdir()
    cameras = {"pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False}}
    config_path, port = write_config(tmp, cameras, tmp / "faces")
    return run_module_daemon.start(tmp, config_path, port, timeout=90)


def encoder_pids(daemon: RunningDaemon) -> list[int]:
    found = []
    for pid in descendants(daemon.process.pid):
        try:
            if b"pattern/index.m3u8" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def listed_segments(daemon: RunningDaemon) -> list[str]:
    text = (daemon.runtime_dir / "pattern" / "index.m3u8").read_text()
    return [line for line in text.splitlines() if line.startswith("seg_")]


def new_segment_since(daemon: RunningDaemon, known: set[str], since: float) -> str | None:
    for name in listed_segments(daemon):
        if name not in known and (daemon.runtime_dir / "pattern" / name).stat().st_mtime > since:
            return name
    return None


def test_killed_encoder_resumes_hls_every_time_and_capture_never_waits(pattern_daemon):
    daemon = pattern_daemon
    times, captured_at_kill = [], []
    started, captured_first = time.monotonic(), metric(daemon, "facedaemon_frames_captured_total", "pattern")
    for kill in range(FFMPEG_KILLS):
        pids = daemon.wait_for(lambda: encoder_pids(daemon), 30, f"kill {kill}: the camera's ffmpeg")
        known = set(daemon.wait_for(lambda: listed_segments(daemon), 30, "segments listed"))
        captured_at_kill.append(metric(daemon, "facedaemon_frames_captured_total", "pattern"))
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        killed, killed_wall = time.monotonic(), time.time()
        daemon.wait_for(lambda: new_segment_since(daemon, known, killed_wall), 30,  # noqa: B023 (called at once)
                        f"kill {kill}: a new HLS segment", interval=0.1)
        times.append(time.monotonic() - killed)
    elapsed = time.monotonic() - started
    captured = metric(daemon, "facedaemon_frames_captured_total", "pattern") - captured_first
    rate = captured / elapsed
    text = figures(f"HLS resume over {FFMPEG_KILLS} ffmpeg kills", times)
    print(f"capture during the kills: {captured:.0f} frames in {elapsed:.1f} s = {rate:.1f} fps (camera: 15)")
    assert statistics.median(times) <= HLS_RESUME_P50 and max(times) <= HLS_RESUME_MAX, text
    assert all(b > a for a, b in itertools.pairwise(captured_at_kill)), captured_at_kill
    # Capture does not wait for the encoder: close to the camera's rate through all the kills (loose: 2 cores).
    assert rate >= 15 * 0.6, f"capture slowed to {rate:.1f} fps while ffmpeg was being killed"
    assert daemon.process.poll() is None


# -- SIGTERM under load ----------------------------------------------------------------------------------------

def test_sigterm_under_load_exits_quickly_and_leaves_nothing(tmp_path, shared_data, run_daemon):
    faces = gallery(shared_data, tmp_path / "faces", obama=("obama2.jpg",), others=True)
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    cameras = {
        "people": {"source": str(clip), "loop": True},
        "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False},
    }
    times = []
    for run in range(SIGTERM_RUNS):
        config_path, port = write_config(tmp_path, cameras, faces)  # a new port each run
        running = run_daemon.start(tmp_path, config_path, port, ready=None)
        try:
            code = stream_then_sigterm(running, run, times)
        finally:
            running.stop(signal.SIGKILL)
            left = running.kill_leftovers()
        assert left == [], f"run {run}: processes left after SIGTERM: {left}"
        assert code == 0, f"run {run}: exit code {code}\n{running.log()[-3000:]}"
        assert times[-1] <= SIGTERM_EXIT, f"run {run}: exit took {times[-1]:.1f} s\n{running.log()[-3000:]}"
    figures(f"SIGTERM to exit over {SIGTERM_RUNS} runs under load", times)


def stream_then_sigterm(daemon: RunningDaemon, run: int, times: list[float]) -> int | None:
    """Wait until both cameras stream and faces are named, SIGTERM; record how long the exit took."""
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 120, f"run {run}: /healthz ok")
    daemon.wait_for(lambda: status(daemon)["cameras"]["people"]["faces"], 60, f"run {run}: faces named")
    time.sleep(random.uniform(0.0, 2.0))
    times.append(daemon.stop(signal.SIGTERM, timeout=30))
    return daemon.process.returncode
