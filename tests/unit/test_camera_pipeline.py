"""One camera's pipeline with fake parts (a source, a recognizer and a sink in memory; no ffmpeg, no worker): frames
flow, the result board is read once per output frame, a capture failure is retried and counted as a restart, and
the status entry is the typed one the web parses."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from facedaemon.config.models import CameraConfig, SourceConfig, SourceKind
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.pipeline.camera import BUSY_RESULT_MAX_AGE, RESULT_MAX_AGE, CameraPipeline, PipelineStatus
from facedaemon.runtime.status import CameraStatus, parse_status
from facedaemon.sources.base import Frame, SourceError
from tests.polling import wait

CAMERA = CameraConfig(name="door", source=SourceConfig(kind=SourceKind.PATTERN, uri="pattern"))
FACE = FaceResult(name="Ann", confidence=0.9, distance=0.3, box=(10, 40, 40, 10), track=1)


class Source:
    description = "fake"

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after, self.reads = fail_after, 0

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        time.sleep(0.01)
        self.reads += 1
        if self.fail_after is not None and self.reads == self.fail_after:
            raise SourceError("camera unplugged")
        return Frame(np.zeros((90, 80), np.uint8), time.time(), time.monotonic())

    def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.frames = 0

    def write(self, frame: np.ndarray) -> bool:
        self.frames += 1
        return True

    def stop(self, timeout: float = 3.0) -> None:
        pass


class Board:
    """The recognizer the camera sees: a result board with a fixed latest result; counts reads and submits."""

    def __init__(self, age: float = 0.0, busy: bool = False) -> None:
        self.reads = self.submits = 0
        self.age, self.busy = age, busy
        self.lock = threading.Lock()

    def submit(self, camera, frame, frame_time, hint=None) -> bool:
        self.submits += 1
        return True

    def latest(self, camera: str) -> RecognitionResult:
        with self.lock:
            self.reads += 1
        return RecognitionResult(camera=camera, frame_time=time.time() - self.age, faces=(FACE,),
                                 inference_seconds=0.05, encoded=0)

    def in_flight(self, camera: str) -> bool:
        return self.busy


def run(pipeline: CameraPipeline, until) -> None:
    pipeline.start()
    try:
        assert wait(until, 10)
    finally:
        pipeline.stop(2.0)


def test_frames_flow_and_the_board_is_read_once_per_output_frame() -> None:
    sink, board = Sink(), Board()
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=sink,
                              metrics=DaemonMetrics.create(process=False), recognizer=board)
    run(pipeline, lambda: sink.frames >= 20)
    assert board.reads == sink.frames, "one read of the result board per frame written"
    assert 0 < board.submits < sink.frames, "recognition is paced, not sent every frame"
    entry = pipeline.status_entry(time.monotonic())
    assert isinstance(entry, CameraStatus) and entry.state == "stopped"
    assert [face.name for face in entry.faces] == ["Ann"] and entry.width == 80


def test_the_status_entry_round_trips_through_the_file_schema() -> None:
    sink, board = Sink(), Board()
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=sink,
                              metrics=DaemonMetrics.create(process=False), recognizer=board)
    run(pipeline, lambda: sink.frames >= 3)
    entry = pipeline.status_entry(time.monotonic())
    parsed = parse_status({"updated": 1.0, "cameras": {"door": entry.to_json()}})
    assert parsed is not None and parsed.cameras["door"] == entry


def test_a_capture_failure_is_retried_and_counted_as_a_restart() -> None:
    sink, metrics = Sink(), DaemonMetrics.create(process=False)
    sources = iter([Source(fail_after=5), Source()])
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: next(sources), sink=sink, metrics=metrics)
    restarts = lambda: metrics.registry.get_sample_value(  # noqa: E731
        "facedaemon_restarts_total", {"part": "capture", "camera": "door"})
    assert restarts() == 0.0
    run(pipeline, lambda: restarts() == 1.0 and sink.frames > 10)
    assert pipeline.status.reason is None or "unplugged" not in pipeline.status.reason


def test_a_late_result_is_drawn_while_the_worker_works_on_a_newer_frame_and_dropped_when_idle() -> None:
    late = (RESULT_MAX_AGE + BUSY_RESULT_MAX_AGE) / 2
    for busy, drawn in ((True, 1), (False, 0)):
        board = Board(age=late, busy=busy)
        pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=Sink(),
                                  metrics=DaemonMetrics.create(process=False), recognizer=board)
        result = board.latest("door")
        assert len(pipeline.current_faces(time.time(), result)) == drawn, f"busy={busy}"
    gone = Board(age=BUSY_RESULT_MAX_AGE + 1, busy=True)
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=Sink(),
                              metrics=DaemonMetrics.create(process=False), recognizer=gone)
    assert pipeline.current_faces(time.time(), gone.latest("door")) == (), "a worker stuck on one frame"


def test_a_size_change_reopens_the_source_at_once_with_one_line_and_no_backoff(caplog) -> None:
    from facedaemon.sources.base import SourceResized

    class Resizing(Source):
        def read(self) -> Frame:
            frame = super().read()
            if self.reads == 5:
                raise SourceResized("rtsp://***@192.0.2.10/s", (80, 60), (160, 120))
            return frame

    sink, metrics, opened = Sink(), DaemonMetrics.create(process=False), []

    def factory(camera):
        opened.append(time.monotonic())
        return Resizing() if len(opened) == 1 else Source()

    pipeline = CameraPipeline(CAMERA, source_factory=factory, sink=sink, metrics=metrics)
    with caplog.at_level("INFO", logger="facedaemon.pipeline.camera"):
        run(pipeline, lambda: len(opened) == 2 and sink.frames > 10)
    lines = [record.getMessage() for record in caplog.records if "changed size" in record.getMessage()]
    assert lines == ["camera door: rtsp://***@192.0.2.10/s: the picture changed size 80x60 -> 160x120; reopening it"]
    assert opened[1] - opened[0] < 0.4, "no backoff: the first wait after a failure is 0.5 s"
    # Counted like the encoder's restart for a new frame size: every reopen shows in the metrics.
    assert metrics.registry.get_sample_value("facedaemon_restarts_total", {"part": "capture", "camera": "door"}) == 1
    assert not any("reconnecting" in record.getMessage() for record in caplog.records), "not a failure"
    assert pipeline.status.reason is None
    before = RecognitionResult(camera="door", frame_time=pipeline._resized_at - 0.1, faces=(FACE,),
                               inference_seconds=0.05, encoded=0)
    assert pipeline.current_faces(time.time(), before) == (), "boxes of the old picture are not drawn on the new"
    after = RecognitionResult(camera="door", frame_time=time.time(), faces=(FACE,), inference_seconds=0.05, encoded=0)
    assert pipeline.current_faces(time.time(), after) == (FACE,)


def test_a_file_whose_size_changed_is_opened_again_itself_to_play_on(caplog) -> None:
    # A file plays on from the change only if the same source is opened again (it knows where the change was); a
    # new one would start the file from its beginning (issue 25).
    from facedaemon.sources.base import SourceResized

    class Resuming(Source):
        def __init__(self) -> None:
            super().__init__()
            self.opens = self.closes = 0

        def open(self) -> None:
            self.opens += 1

        def read(self) -> Frame:
            frame = super().read()
            if self.reads == 5:
                raise SourceResized("/v/a.ts", (80, 60), (160, 120), at=3.0, resumes=True)
            return frame

        def close(self) -> None:
            self.closes += 1

    sink, made = Sink(), []

    def factory(camera):
        made.append(Resuming())
        return made[-1]

    pipeline = CameraPipeline(CAMERA, source_factory=factory, sink=sink, metrics=DaemonMetrics.create(process=False))
    with caplog.at_level("INFO", logger="facedaemon.pipeline.camera"):
        run(pipeline, lambda: made[0].opens == 2 and sink.frames > 10)
    assert len(made) == 1 and made[0].closes >= 1, "closed, then the same source opened again"
    lines = [record.getMessage() for record in caplog.records if "changed size" in record.getMessage()]
    assert lines == ["camera door: /v/a.ts: the picture changed size 80x60 -> 160x120 at 3.00 s; reopening it"]
    assert pipeline._resized_at > 0, "boxes of the old picture are not drawn on the new"


def test_wrong_credentials_are_said_once_and_retried_slower_up_to_a_cap(caplog, monkeypatch) -> None:
    from facedaemon.pipeline import camera as camera_module
    from facedaemon.sources.base import SourceRefused

    monkeypatch.setattr(camera_module, "REFUSED_FIRST", 0.1)
    monkeypatch.setattr(camera_module, "REFUSED_CAP", 0.4)
    monkeypatch.setattr(camera_module, "REFUSED_REMIND", 2.0)
    opened: list[float] = []
    reason = "cannot open rtsp://***@192.0.2.10/s: the camera refused the user name or password"

    class Refusing(Source):
        def open(self) -> None:
            opened.append(time.monotonic())
            raise SourceRefused(reason)

    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Refusing(), sink=Sink(),
                              metrics=DaemonMetrics.create(process=False))
    reasons: list[str | None] = []

    def enough() -> bool:
        reasons.append(pipeline.status.reason)
        return len(opened) >= 9

    with caplog.at_level("INFO", logger="facedaemon.pipeline.camera"):
        run(pipeline, enough)
    said = [record for record in caplog.records if "refused" in record.getMessage()]
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(opened)]
    assert len(said) == 2 and all(record.levelname == "WARNING" for record in said), \
        f"once, and once more after REFUSED_REMIND (2 s): {[r.getMessage() for r in said]}, gaps {gaps}"
    assert said[0].getMessage() == f"camera door: {reason}"
    assert len([r for r in caplog.records if "reconnecting" in r.getMessage()]) == 2, "the retry said with it"
    assert 0.08 <= gaps[0] <= 0.3 and gaps[1] >= 0.18 and gaps[2] >= 0.35, f"doubling from 0.1 s: {gaps}"
    assert max(gaps) <= 0.7, f"capped at 0.4 s: {gaps}"
    assert reasons[-1] == reason, "the status says why all along"


def test_a_damaged_stream_is_one_line_a_minute_not_one_per_broken_frame(caplog, monkeypatch) -> None:
    from facedaemon.pipeline import camera as camera_module
    from facedaemon.sources.decode import Damage

    class Damaged(Source):
        def __init__(self) -> None:
            super().__init__()
            self.damage = Damage()

        def read(self) -> Frame:
            self.damage.note("[h264 @ 0x5] concealing 480 DC, 480 AC, 480 MV errors in I frame")
            return super().read()

    monkeypatch.setattr(camera_module, "DAMAGE_EVERY", 0.5)
    source, sink = Damaged(), Sink()
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: source, sink=sink,
                              metrics=DaemonMetrics.create(process=False))
    with caplog.at_level("INFO", logger="facedaemon.pipeline.camera"):
        run(pipeline, lambda: source.reads >= 70)  # ~0.8 s of frames every 10 ms
    records = [record for record in caplog.records if "damaged stream" in record.getMessage()]
    lines, times = [record.getMessage() for record in records], [record.created for record in records]
    assert 2 <= len(lines) <= 10, f"one line per 0.5 s, not one per frame ({source.reads} frames): {lines}"
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(times)), times
    assert lines[0].startswith("camera door: damaged stream: 1 reports of broken frames") and "since it opened" in \
        lines[0] and lines[0].endswith("last: [h264 @ 0x5] concealing 480 DC, 480 AC, 480 MV errors in I frame")
    assert "since the last line" in lines[1]


def test_fps_in_does_not_read_the_decoders_opening_burst_as_the_cameras_rate() -> None:
    """A 20 fps camera: ffmpeg spends 0.9 s analysing the stream, then hands over the 18 frames it buffered at once
    (measured: 19-25 frames within 30 ms of the open), then 20 fps. Counted from the first of them, the burst read as
    24 fps (the matrix's H.265 VFR case: 22.8 for a 20.3 fps clip); counted from the connection, 20."""
    status = PipelineStatus()
    began = 1000.0
    status.fps_in.restart(began)
    now = began + 0.9
    for index in range(18):
        status.fps_in.tick(now + index * 0.001)
    for _frame in range(82):
        now += 0.05
        status.fps_in.tick(now)
    assert status.fps_in.rate(now) == pytest.approx(20.0, rel=0.03)
    for _frame in range(200):  # later, a full window past the burst: the sliding window's own rate
        now += 0.05
        status.fps_in.tick(now)
    assert status.fps_in.rate(now) == pytest.approx(20.0, rel=0.03)


def test_a_reopened_source_restarts_its_fps_in_from_the_connection() -> None:
    status = PipelineStatus()
    for index in range(100):
        status.fps_in.tick(500.0 + index / 25)
    status.fps_in.restart(510.0)  # the camera reconnected: the old session's frames are not this one's rate
    assert status.fps_in.rate(510.5) == 0.0
    status.fps_in.tick(511.0)
    assert status.fps_in.rate(512.0) == pytest.approx(0.5)


def test_the_pipeline_counts_fps_in_from_the_connection_not_from_the_burst() -> None:
    """A camera at 20 fps whose open takes 0.5 s, then hands over the 10 frames buffered meanwhile at once. The
    status's fps_in counts from the connection: about 20, never the ~26 the burst made of it (a loaded machine
    only slows the reads, so only lowers the figure)."""

    class Bursting(Source):
        def open(self) -> None:
            time.sleep(0.5)

        def read(self) -> Frame:
            self.reads += 1
            if self.reads > 10:
                time.sleep(0.05)
            return Frame(np.zeros((90, 80), np.uint8), time.time(), time.monotonic())

    source = Bursting()
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: source, sink=Sink(),
                              metrics=DaemonMetrics.create(process=False))
    rates: list[float] = []
    pipeline.start()
    try:
        assert wait(lambda: source.reads >= 40, 20)
        rates.append(pipeline.status_entry(time.monotonic()).fps_in)
    finally:
        pipeline.stop(2.0)
    assert 8.0 <= rates[0] <= 21.5, f"{rates[0]} fps for a 20 fps camera"


def test_fps_in_is_the_cameras_average_over_10_s_not_the_moment() -> None:
    status = PipelineStatus()
    now = 1000.0
    for second in range(12):  # 2 s at 30 fps, 2 s at 10 fps, ...: a camera in the dark; 20 fps on average
        rate = 30 if second % 4 < 2 else 10
        for _frame in range(rate):
            now += 1.0 / rate
            status.fps_in.tick(now)
    # The last 10 s hold 6 slow seconds and 4 fast ones (18 fps); a 2 s window said 10.
    assert status.fps_in.rate(now) == pytest.approx(18.0, rel=0.05)


def test_a_new_gallery_sends_the_next_frame_of_a_still_empty_scene_to_the_worker() -> None:
    """Nothing moves and nobody is on screen: frames are not sent (pipeline/pacing.py, STILL_RECHECK), until the
    recognizer's gallery changes: the worker re-decides its tracks at the next look, so one goes at once."""
    from facedaemon.annotate.draw import draw_faces_i420

    class Empty(Board):
        def __init__(self) -> None:
            super().__init__()
            self.gallery = {"people": 1}

        def latest(self, camera: str) -> RecognitionResult:
            return RecognitionResult(camera=camera, frame_time=time.time(), faces=(), inference_seconds=0.05,
                                     encoded=0)

    board = Empty()
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=Sink(),
                              metrics=DaemonMetrics.create(process=False), recognizer=board)
    image, start = np.zeros((90, 80), np.uint8), time.monotonic()

    def frames(first: int, count: int) -> None:
        for index in range(first, first + count):
            pipeline._emit(Frame(image, time.time(), start + index / 30), draw_faces_i420)

    frames(0, 30)
    assert board.submits == 1, "a still, empty picture: one look"
    board.gallery = {"people": 2}  # the worker reloaded its gallery
    frames(30, 1)
    assert board.submits == 2
    frames(31, 20)
    assert board.submits == 2


def test_a_face_not_judged_yet_is_not_counted_as_a_stranger() -> None:
    """The neutral "face" (too small, or not judged yet) is no verdict: a known person's first frames must not count
    as an unknown visitor in facedaemon_faces_recognized_total, and a track is counted once per name it is given."""
    metrics = DaemonMetrics.create(process=False)
    pipeline = CameraPipeline(CAMERA, source_factory=lambda camera: Source(), sink=Sink(), metrics=metrics)

    def result(*faces: FaceResult) -> RecognitionResult:
        return RecognitionResult(camera="door", frame_time=time.time(), faces=faces, inference_seconds=0.05,
                                 encoded=0)

    def neutral(track: int) -> FaceResult:
        return FaceResult(name="face", confidence=0.0, distance=None, box=(10, 40, 40, 10), track=track)

    stranger = FaceResult(name="Unknown", confidence=0.2, distance=0.7, box=(50, 90, 90, 50), track=2)
    for faces in [(neutral(1), neutral(2)), (neutral(1), neutral(2)), (FACE, stranger), (neutral(1), stranger),
                  (FACE, stranger)]:
        pipeline.on_result(result(*faces))
    count = lambda person: metrics.registry.get_sample_value(  # noqa: E731
        "facedaemon_faces_recognized_total", {"camera": "door", "person": person})
    assert (count("known"), count("unknown")) == (1.0, 1.0)
