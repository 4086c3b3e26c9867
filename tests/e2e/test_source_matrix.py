"""The source matrix: cameras as they are, end to end. Each case is a clip made with ffmpeg from the shared photos
(devtools/source_clips.py) in a codec, size, rate and fault real cameras have, served by GStreamer's RTSP server
(tests/e2e/rtsp_camera.py --clip) to the real daemon. For each: the HLS stream plays over HTTP at the camera's
size, the known face is named, the capture rate (facedaemon_frames_captured_total over a window) is the clip's own
average rate and the output rate follows it, the frame latency is sane, and the log says what the daemon opened and
what changed.

A few cases run by default (the `default` flag: ≤ 5 min together on a quiet machine); the whole matrix:
    FACEDAEMON_SOURCE_MATRIX=all scripts/test tests/e2e/test_source_matrix.py

Packet loss: `tc qdisc ... netem` inside a network namespace was tried first. Network namespaces and veth pairs
work on the development machine (root), but its kernel has no sch_netem (and no nftables or iptables to drop at
random), so the camera drops a share of NAL units itself before packetising them (rtsp_camera.py --drop): the
decoder sees exactly what lost RTP packets leave, slices gone.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.daemon import RunningDaemon, status
from devtools.processes import SYSTEM_PYTHON, free_port, stop_process, system_python_problem
from devtools.source_clips import Clip, concatenated, corrupted, encode, joined, numbered, probe
from tests import ffmpegs
from tests.e2e.media import gallery
from tests.realparts import missing

pytestmark = pytest.mark.e2e

ALL = os.environ.get("FACEDAEMON_SOURCE_MATRIX") == "all"
CAMERA_SCRIPT = Path(__file__).with_name("rtsp_camera.py")
NAME = "Obama"  # the face in every clip, known from obama2.jpg and obama3.jpg
RATE_WINDOW = 12.0  # s over which fps_in is measured from the capture counter: 3 whole cycles of the VFR clips
RESIZE_AT = 15.0  # s into the stream when the camera's resolution changes
RENAMED_WITHIN = 5.0  # s after the size-change line until the face is named at the new size (issue 25's target)
# ... or, on a machine too loaded for that (21.5 s at load 33), the reopen's own time plus this many times the run's
# own first naming after its first open: naming him after a reopen is no slower than after a fresh start.
RENAMED_OVER_COLD = 2.0
# The rates are measured from this long after the camera opened: ffmpeg hands over the ~1 s it buffered while it
# analysed the stream at once (19-25 frames within 30 ms), which a window holding the open counted as the camera's.
SETTLE = 3.0


@dataclass(frozen=True)
class Case:
    id: str
    codec: str = "h264"
    size: tuple[int, int] = (1280, 720)
    fps: int = 25
    vfr: bool = False
    audio: str = "none"  # none, aac, pcmu: a track the daemon must ignore
    transport: str = "tcp"
    fault: str | None = None  # reset (timestamps restart), resize (mid-stream), corrupt (damaged NALs), loss
    default: bool = False  # in the default run of scripts/test
    output: int | None = None  # camera.output.width: the stream scaled down, recognition on the whole picture


CASES = [
    Case("h264-640x360-15fps", size=(640, 360), fps=15),
    Case("h265-1280x720-25fps-aac-output-640", codec="h265", audio="aac", default=True, output=640),
    Case("h264-1920x1080-30fps-pcmu-udp", size=(1920, 1080), fps=30, audio="pcmu", transport="udp"),
    Case("h265-1920x1080-15fps-udp", codec="h265", size=(1920, 1080), fps=15, transport="udp"),
    Case("h264-3840x2160-15fps", size=(3840, 2160), fps=15),
    Case("h265-3840x2160-15fps-aac", codec="h265", size=(3840, 2160), fps=15, audio="aac"),
    Case("h264-640x360-vfr-pcmu-udp", size=(640, 360), fps=30, vfr=True, audio="pcmu", transport="udp", default=True),
    Case("h265-1280x720-vfr", codec="h265", fps=30, vfr=True, default=True),
    Case("h264-timestamp-reset", fault="reset"),
    Case("h264-resolution-change", size=(640, 360), fault="resize", default=True),
    Case("h265-resolution-change", codec="h265", size=(640, 360), fault="resize"),
    Case("h264-corrupted-nal", fault="corrupt", default=True),
    Case("h265-corrupted-nal", codec="h265", fault="corrupt"),
    Case("h264-packet-loss-udp", fault="loss", transport="udp"),
    Case("h265-packet-loss", codec="h265", fault="loss"),
]


def selected() -> list:
    return [pytest.param(case, id=case.id) for case in CASES if ALL or case.default]


# -- the camera ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Served:
    clip: Clip  # what the daemon should see (after a resize: the second part)
    first: Clip | None  # before the resize


def make_clips(case: Case, tmp: Path, shared: Path) -> tuple[Path, Served, Path | None]:
    """(file to serve, what it holds, file new sessions get after a resize)."""
    ffmpeg, photo = ffmpegs.SUITE(), shared / "images" / "obama.jpg"

    def clip(name: str, size: tuple[int, int], seconds: float, repeat: int) -> Path:
        return encode(ffmpeg, photo, tmp / f"{name}.ts", codec=case.codec, size=size, fps=case.fps,
                      seconds=seconds, vfr=case.vfr, repeat=repeat)

    seconds = 4.0 if case.vfr else 2.0  # a VFR clip holds a whole fast-and-slow cycle
    if case.fault == "resize":
        first = clip("first", case.size, RESIZE_AT / 5, 4)
        larger = (case.size[0] * 2, case.size[1] * 2)
        second = clip("second", larger, seconds, int(120 / seconds))
        served = joined(tmp / "resized.ts", first, second)
        return served, Served(probe(ffmpeg, second), probe(ffmpeg, first)), second
    long = clip("clip", case.size, seconds, int(120 / seconds))
    played = probe(ffmpeg, long)  # before the faults: a joined file's duration is not its playing time
    if case.fault == "reset":  # a camera that rebooted: its timestamps start again from zero mid-stream
        part = clip("part", case.size, seconds, int(20 / seconds))
        long = joined(tmp / "reset.ts", part, part, long)
    elif case.fault == "corrupt":
        # About one damaged packet per second of this clip: each breaks frames up to the next keyframe (1 s).
        long = corrupted(long, tmp / "corrupt.ts", every=600)
    return long, Served(played, None), None


class Camera:
    def __init__(self, case: Case, port: int, served: Path, then: Path | None, log: Path) -> None:
        args = [SYSTEM_PYTHON, "-I", str(CAMERA_SCRIPT), "--port", str(port), "--clip", str(served),
                "--codec", case.codec, "--audio", case.audio]
        if then is not None:
            args += ["--then", str(then), "--after", f"{RESIZE_AT:g}"]
        if case.fault == "loss":
            args += ["--drop", "0.01"]
        with log.open("wb") as err:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode(errors="replace")
        if "serving" not in line:
            self.stop()
            raise AssertionError(f"the RTSP camera did not start: {line!r}\n{log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


# -- what the daemon shows -------------------------------------------------------------------------------------

def metrics_now(daemon: RunningDaemon, names: tuple[str, ...]) -> tuple[float, list[float]]:
    """(when the daemon wrote them, the values): metrics.prom, which /metrics serves, is rewritten a few times a
    second by the daemon's main loop, later on a loaded machine; its mtime, not our clock, is when the counts held."""
    path = daemon.runtime_dir / "metrics.prom"
    while True:
        written = path.stat().st_mtime
        text = path.read_text()
        if path.stat().st_mtime == written:  # not replaced while we read it
            break
    values = []
    for name in names:
        found = re.search(rf'^{name}\{{camera="cam"\}} (\S+)$', text, re.M)
        assert found, f"{name} for cam not in metrics.prom"
        values.append(float(found.group(1)))
    return written, values


def named(daemon: RunningDaemon) -> bool:
    camera = status(daemon)["cameras"].get("cam", {})
    return any(face["name"] == NAME for face in camera.get("faces", ()))


@dataclass(frozen=True)
class Named:
    at: float  # wall clock, as the log's
    width: int  # the camera's picture
    box: int  # the face's width in it


def named_box(daemon: RunningDaemon) -> Named | None:
    camera = status(daemon)["cameras"].get("cam", {})
    boxes = [face["box"][2] - face["box"][0] for face in camera.get("faces", ()) if face["name"] == NAME]
    return Named(time.time(), camera["width"], max(boxes)) if boxes else None


def logged_at(daemon: RunningDaemon, text: str, *, last: bool = True) -> float:
    """The wall-clock time of the last (or first) log line holding `text`."""
    line = [line for line in daemon.log().splitlines() if text in line][-1 if last else 0]
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def hls_size(daemon: RunningDaemon, tmp: Path) -> tuple[int, int]:
    """Fetch the init and newest segment over HTTP, decode them with ffmpeg: the stream's picture size."""
    playlist = daemon.get("/hls/cam/index.m3u8")
    assert playlist.status_code == 200, playlist.text[:300]
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text)
    segments = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert init and segments, playlist.text
    video = tmp / "newest.mp4"
    with video.open("wb") as out:
        for part in (init.group(1), segments[-1]):
            response = daemon.get(f"/hls/cam/{part}")
            assert response.status_code == 200 and response.content, part
            out.write(response.content)
    decoded = subprocess.run([ffmpegs.SUITE(), "-hide_banner", "-nostdin", "-i", str(video), "-f", "null", "-"],
                             capture_output=True, text=True, timeout=60)
    frames = re.findall(r"frame=\s*(\d+)", decoded.stderr)
    assert decoded.returncode == 0 and frames and int(frames[-1]) > 0, decoded.stderr[-1500:]
    size = re.search(r"Video: h264.*?, (\d+)x(\d+)", decoded.stderr)
    assert size, decoded.stderr[-1500:]
    return int(size[1]), int(size[2])


@dataclass(frozen=True)
class Rates:
    fps_in: float  # from the capture counter over the window
    fps_out: float  # from the output counter
    status_in: float  # status.json's fps_in (a 2 s window) at the end
    latency: float  # mean capture-to-encoder seconds over the window


def rates(daemon: RunningDaemon, window: float) -> Rates:
    names = ("facedaemon_frames_captured_total", "facedaemon_frames_output_total",
             "facedaemon_frame_latency_seconds_sum", "facedaemon_frame_latency_seconds_count")
    began, start = metrics_now(daemon, names)
    time.sleep(window)
    ended, end = metrics_now(daemon, names)
    span = ended - began
    captured, output, latency, count = (b - a for a, b in zip(start, end, strict=True))
    return Rates(captured / span, output / span, status(daemon)["cameras"]["cam"]["fps_in"],
                 latency / count if count else float("inf"))


# -- the matrix ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def camera_server() -> None:
    problem = system_python_problem(CAMERA_SCRIPT)
    if problem is not None:
        missing("GStreamer RTSP server", f"it cannot serve a test camera under {SYSTEM_PYTHON} ({problem}); "
                "install the Debian packages in tests/debian-packages.txt (scripts/test-deps)")


@pytest.mark.parametrize("case", selected())
def test_the_camera_plays_is_named_and_measured_right(case, camera_server, shared_data, tmp_path, run_daemon):
    served_path, served, then = make_clips(case, tmp_path, shared_data)
    port = free_port()
    faces = gallery(shared_data, tmp_path / "faces")
    source = {"source": f"rtsp://127.0.0.1:{port}/cam", "rtsp_transport": case.transport,
              **({"output": {"width": case.output}} if case.output else {})}
    daemon = run_daemon(tmp_path, {"cam": source}, faces, events={"log": False}, ready=None)
    # The camera comes up once recognition is ready, so a change at a fixed time in the clip comes after naming.
    daemon.wait_for(lambda: "recognition: ready" in daemon.log(), 120, "the recognition worker")
    camera = Camera(case, port, served_path, then, tmp_path / "camera.log")
    try:
        first_name = daemon.wait_for(lambda: named_box(daemon), 120, f"{NAME} named on {case.id}")
        # The log says what the camera sends: codec and size (and the rate when the stream declares one).
        first = served.first or served.clip
        codec = {"h265": "hevc"}.get(case.codec, case.codec)
        opened = rf"camera cam: opened rtsp://127\.0\.0\.1:\d+/cam \({codec} {first.size[0]}x{first.size[1]}\b"
        assert re.search(opened, daemon.log()), daemon.log()[-3000:]
        if case.fault == "resize":
            check_the_resize(daemon, served, first_name)
        settle(daemon)
        measured = rates(daemon, RATE_WINDOW)
        print(f"\n{case.id}: clip {served.clip.size[0]}x{served.clip.size[1]} {served.clip.rate:.2f} fps; "
              f"fps_in {measured.fps_in:.2f} (status {measured.status_in:.2f}), fps_out {measured.fps_out:.2f}, "
              f"latency {measured.latency * 1000:.0f} ms")
        # The camera paces itself: over 12 s the capture rate is the clip's average, VFR and faults included (a
        # lost or broken frame is still a frame: ffmpeg conceals it). 12 s hold 3 of the VFR clips' 3.93 s cycles
        # (the phase moves the count by under 1 %); the metrics file is rewritten about once a second and the
        # decoder may be a few frames behind at either end: H.265 VFR read 19.45-21.05 for 20.34 at load 3-19.
        if case.fault == "loss":
            # A lost slice the decoder cannot conceal is a frame that never comes: H.265 drops the frames that
            # refer to a lost one up to the next keyframe (21.3 of 25 fps seen, varying with which NALs are lost).
            assert 0.75 * served.clip.rate <= measured.fps_in <= 1.05 * served.clip.rate, measured
        else:
            assert measured.fps_in == pytest.approx(served.clip.rate, rel=0.07), measured
        # status.json's fps_in averages 10 s, 2.5 VFR cycles: the phase alone moves it by up to 9 %.
        assert measured.status_in == pytest.approx(measured.fps_in if case.fault == "loss" else served.clip.rate,
                                                   rel=0.15), measured
        # The output follows the input: every frame is encoded unless the machine cannot keep up (shared cores).
        assert 0.75 * measured.fps_in <= measured.fps_out <= 1.05 * measured.fps_in, measured
        assert 0 < measured.latency < 1.0, measured
        width, height = served.clip.size
        served_size = (case.output, height * case.output // width) if case.output else served.clip.size
        assert hls_size(daemon, tmp_path) == served_size, "the stream at the camera's size, or its output size"
        daemon.wait_for(lambda: named(daemon), 30, f"{NAME} still named after the measurement")
        if case.fault in ("corrupt", "loss"):
            assert "camera cam: damaged stream: " in daemon.log(), "one line says the stream came damaged"
        assert "Traceback" not in daemon.log(), daemon.log()[-3000:]
    finally:
        camera.stop()


def settle(daemon: RunningDaemon) -> None:
    """Wait until SETTLE s after the camera last opened (its log line's time): the decoder's opening burst spent."""
    time.sleep(max(0.0, logged_at(daemon, "camera cam: opened") + SETTLE - time.time()))


def check_the_resize(daemon: RunningDaemon, served: Served, first: Named) -> None:
    """One line saying the size changed, no daemon restart, and the face named at the new size within 5 s (or the
    reopen plus RENAMED_OVER_COLD times this run's first naming after the open, when the machine is that slow)."""
    assert served.first is not None
    (was_w, was_h), (new_w, new_h) = served.first.size, served.clip.size
    line = f"the picture changed size {was_w}x{was_h} -> {new_w}x{new_h}; reopening it"
    daemon.wait_for(lambda: line in daemon.log(), 60, "the size-change line")
    changed = logged_at(daemon, line)
    # He is named within the clip's first RESIZE_AT s on a quiet machine. A loaded one may name him only after the
    # change: then there is no time from the change to his name, and no first-size box to compare with.
    in_phase = first.width == was_w and first.at < changed

    def named_at_new_size() -> Named | None:  # the face is twice as wide in the larger picture
        got = named_box(daemon)
        fresh = got is not None and got.width == new_w and got.at > changed
        return got if fresh and (not in_phase or got.box > 1.5 * first.box) else None

    again = daemon.wait_for(named_at_new_size, 60, f"{NAME} named at {new_w}x{new_h}")
    timeline = [line for line in daemon.log().splitlines() if "camera cam:" in line][-6:]
    load = os.getloadavg()[0]
    if in_phase:
        took, cold = again.at - changed, first.at - logged_at(daemon, "camera cam: opened", last=False)
        reopen = logged_at(daemon, "camera cam: opened") - changed
        within = max(RENAMED_WITHIN, reopen + RENAMED_OVER_COLD * cold)
        print(f"\nnamed again {took:.1f} s after the size-change line (reopened in {reopen:.1f} s), first named "
              f"{cold:.1f} s after the open (load {load:.1f})\n" + "\n".join(timeline))
        assert took <= within, f"named again {took:.1f} s after the size changed (allowed {within:.1f}):\n" + \
            "\n".join(timeline)
    else:
        print(f"\nfirst named only after the size change (load {load:.1f}): the time to name him again is not "
              "measured\n" + "\n".join(timeline))
    assert daemon.log().count("changed size") == 1, "one line for one change"
    assert daemon.process.poll() is None


def test_a_looping_file_whose_size_changes_plays_both_parts_in_turn(tmp_path, run_daemon):
    """A video file (a recording) at 640x360 for 2 s, then 1280x720 for 2 s, looped: the camera plays on at each
    change from the very frame (one line each, naming the file, both sizes and where), never from the file's
    beginning again (issue 25: before, the first part played for ever)."""
    ffmpeg = ffmpegs.SUITE()
    parts = [numbered(ffmpeg, tmp_path / f"part{n}.ts", codec="h264", size=size, fps=25, seconds=2, u=u, step=4)
             for n, size, u in ((1, (640, 360), 80), (2, (1280, 720), 190))]
    path = concatenated(ffmpeg, tmp_path / "recording.ts", *parts)
    daemon = run_daemon(tmp_path, {"cam": {"source": str(path), "loop": True, "recognize": False}},
                        events={"log": False})
    larger = f"camera cam: {path}: the picture changed size 640x360 -> 1280x720 at 2.00 s; reopening it"
    smaller = f"camera cam: {path}: the picture changed size 1280x720 -> 640x360 at 0.00 s; reopening it"
    # Two whole turns of the 4 s file; a loaded machine opens ffmpeg in up to a few seconds each time.
    daemon.wait_for(lambda: daemon.log().count(larger) >= 2 and daemon.log().count(smaller) >= 2, 90,
                    "two turns of the file, both changes each turn")
    log = daemon.log()
    changes = [line[line.index("camera cam: "):] for line in log.splitlines() if "changed size" in line]
    assert changes[:4] == [larger, smaller, larger, smaller], changes
    opened = re.findall(r"camera cam: opened file \S+ \(h264 (\d+x\d+)", log)
    assert opened[:4] == ["640x360", "1280x720", "640x360", "1280x720"], opened
    assert "reconnecting" not in log and f"end of {path}" not in log and "Traceback" not in log, log[-3000:]
    assert status(daemon)["cameras"]["cam"]["state"] == "streaming"


def test_wrong_credentials_are_one_clear_error_retried_slowly_without_a_flood(camera_server, tmp_path, run_daemon):
    """GStreamer's RTSP server with basic auth; the camera's URL has the wrong password. The log names the camera
    and says why once; the status says it all along; the right password (a reload) brings it up."""
    port = free_port()
    camera_log = tmp_path / "camera.log"
    with camera_log.open("wb") as err:
        server = subprocess.Popen([SYSTEM_PYTHON, "-I", str(CAMERA_SCRIPT), "--port", str(port), "--user", "viewer",
                                   "--password", "right-one"], stdout=subprocess.PIPE, stderr=err,
                                  stdin=subprocess.DEVNULL)
    try:
        assert server.stdout is not None and "serving" in server.stdout.readline().decode(errors="replace")
        cameras = {"door": {"source": f"rtsp://viewer:wrong-one@127.0.0.1:{port}/cam", "recognize": False}}
        daemon = run_daemon(tmp_path, cameras, ready=None)
        refused = "camera door: cannot open rtsp://***@127.0.0.1:{}/cam: the camera refused the user name or password"
        daemon.wait_for(lambda: refused.format(port) in daemon.log(), 60, "the refusal")
        time.sleep(20)  # the normal backoff would have tried 5-6 times by now
        log = daemon.log()
        lines = [line for line in log.splitlines() if "camera door" in line]
        print("\n" + "\n".join(lines))
        assert log.count("refused the user name or password") == 1, lines
        assert len(lines) <= 3, f"no flood: {lines}"
        assert "wrong-one" not in log
        entry = status(daemon)["cameras"]["door"]
        assert entry["state"] == "error" and "refused the user name or password" in entry["reason"], entry
        config = daemon.config_path.read_text().replace("wrong-one", "right-one")
        daemon.config_path.write_text(config)
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for(lambda: status(daemon)["cameras"]["door"]["state"] == "streaming", 60,
                        "the camera streaming with the right password")
    finally:
        stop_process(server, timeout=5)
        if server.stdout is not None:
            server.stdout.close()
