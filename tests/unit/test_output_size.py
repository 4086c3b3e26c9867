"""camera.output: the stream's size apart from the capture's. The size it scales to, the I420 resize, the config
key, and the pipeline with fake parts: recognition gets the whole captured frame, the encoder the scaled one with
each box drawn where the face is on it."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from facedaemon import yuv
from facedaemon.annotate.scale import scale_faces
from facedaemon.config import ConfigError, load_text
from facedaemon.config.models import CameraConfig, OutputSizeConfig, SourceConfig, SourceKind
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.pipeline.camera import CameraPipeline
from facedaemon.sources.base import Frame
from tests.polling import wait

FACE = FaceResult(name="Ann", confidence=0.9, distance=0.3, box=(200, 600, 400, 400), track=1)  # 1280x720 pixels


@pytest.mark.parametrize(("frame", "limit", "expected"), [
    ((3840, 2160), (1920, None), (1920, 1080)),
    ((3840, 2160), (None, 720), (1280, 720)),
    ((3840, 2160), (1280, 1280), (1280, 720)),
    ((1080, 1920), (1280, 720), (404, 720)),  # portrait: the height is the limit, sizes stay even
    ((640, 360), (1920, 1080), (640, 360)),  # never enlarged
    ((640, 360), (None, None), (640, 360)),
    ((1000, 562), (333, None), (332, 186)),  # inside the limit, even: rounded down
])
def test_the_output_fits_inside_the_limit_with_the_frames_shape(frame, limit, expected) -> None:
    assert yuv.fit_inside(frame, limit) == expected


def test_resize_scales_each_plane_in_place_of_the_picture() -> None:
    bgr = np.zeros((720, 1280, 3), np.uint8)
    bgr[200:400, 400:600] = (0, 0, 255)  # a red square
    small = yuv.to_bgr(yuv.resize(yuv.from_bgr(bgr), (640, 360)))
    assert small.shape == (360, 640, 3)
    red = (small[:, :, 2] > 150) & (small[:, :, 1] < 100)
    rows, cols = np.nonzero(red)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == pytest.approx((100, 199, 200, 299), abs=2)


def test_resize_by_another_factor_than_half_keeps_the_picture_too() -> None:
    bgr = np.zeros((720, 1280, 3), np.uint8)
    bgr[240:480, 300:600] = (255, 255, 255)
    frame = yuv.resize(yuv.from_bgr(bgr), (426, 240))  # a third
    assert yuv.size(frame) == (426, 240)
    rows, cols = np.nonzero(yuv.luma(frame) > 128)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == pytest.approx((80, 159, 100, 199), abs=2)
    assert abs(int(yuv.planes(frame)[1].mean()) - 128) <= 2, "grey stays grey: chroma resized with luma"


def test_boxes_scale_with_the_picture() -> None:
    assert scale_faces((FACE,), (1280, 720), (640, 360))[0].box == (100, 300, 200, 200)
    assert scale_faces((FACE,), (1280, 720), (1280, 720)) == (FACE,)


def config_text(output: str) -> str:
    return textwrap.dedent(f"""\
        faces_dir: faces
        runtime_dir: run
        cameras:
          door:
            source: rtsp://192.0.2.10/s
        {output}""")


def test_the_key_loads_and_a_bad_size_names_the_camera() -> None:
    config = load_text(config_text("    output: {width: 1920}\n"), source="cfg.yaml", base_dir=Path("/etc"))
    assert config.camera("door").output == OutputSizeConfig(width=1920, height=None)
    assert load_text(config_text(""), source="cfg.yaml", base_dir=Path("/etc")).camera("door").output == \
        OutputSizeConfig()
    with pytest.raises(ConfigError) as caught:
        load_text(config_text("    output: {width: 8, depth: 3}\n"), source="cfg.yaml", base_dir=Path("/etc"))
    assert "cameras.door.output.width: must be at least 32" in str(caught.value)
    assert "cameras.door.output.depth: unknown key" in str(caught.value)


class Source:
    description = "fake 720p camera"

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        time.sleep(0.02)
        return Frame(yuv.from_bgr(np.full((720, 1280, 3), 90, np.uint8)), time.time(), time.monotonic())

    def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> bool:
        self.frames.append(frame.copy())
        return True

    def stop(self, timeout: float = 3.0) -> None:
        pass


class Board:
    def __init__(self) -> None:
        self.submitted: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def submit(self, camera, frame, frame_time, hint=None) -> bool:
        with self.lock:
            self.submitted.append(yuv.size(frame))
        return True

    def latest(self, camera: str) -> RecognitionResult:
        return RecognitionResult(camera=camera, frame_time=time.time(), faces=(FACE,), inference_seconds=0.05,
                                 encoded=0)

    def in_flight(self, camera: str) -> bool:
        return False


def green(bgr: np.ndarray) -> np.ndarray:
    return (bgr[:, :, 1] > 150) & (bgr[:, :, 0] < 80) & (bgr[:, :, 2] < 80)


@pytest.mark.parametrize("output", [OutputSizeConfig(width=640), OutputSizeConfig()])
def test_recognition_gets_the_captured_frame_and_the_stream_the_scaled_one_with_boxes_in_place(output) -> None:
    camera = CameraConfig(name="door", source=SourceConfig(kind=SourceKind.RTSP, uri="rtsp://192.0.2.10/s"),
                          output=output)
    sink, board = Sink(), Board()
    pipeline = CameraPipeline(camera, source_factory=lambda camera: Source(), sink=sink,
                              metrics=DaemonMetrics.create(process=False), recognizer=board)
    pipeline.start()
    try:
        assert wait(lambda: len(sink.frames) >= 3 and board.submitted, 10)
    finally:
        pipeline.stop(2.0)
    scale = 0.5 if output.width else 1.0
    assert set(board.submitted) == {(1280, 720)}, "recognition sees every captured pixel"
    assert {yuv.size(frame) for frame in sink.frames} == {(round(1280 * scale), round(720 * scale))}
    top, right, bottom, left = (round(edge * scale) for edge in FACE.box)
    rows, cols = np.nonzero(green(yuv.to_bgr(sink.frames[-1])))
    assert rows.size, "the box is drawn"
    # The box's outline (its line's width aside) is where the face is on the output frame; the name bar hangs below.
    assert abs(rows.min() - top) <= 3 and abs(cols.min() - left) <= 3 and abs(cols.max() - right) <= 3
    assert bottom - 3 <= rows.max() <= bottom + 60 * scale
    assert pipeline.status.width == round(1280 * scale), "the status shows the size that is served"


class Textured(Source):
    def read(self) -> Frame:
        time.sleep(0.02)
        noise = np.random.default_rng(7).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
        return Frame(yuv.from_bgr(noise), time.time(), time.monotonic())


class Stranger(Board):
    def latest(self, camera: str) -> RecognitionResult:
        face = FaceResult(name="Unknown", confidence=0.2, distance=0.9, box=FACE.box, track=2)
        return RecognitionResult(camera=camera, frame_time=time.time(), faces=(face,), inference_seconds=0.05,
                                 encoded=0)


@pytest.mark.parametrize("output", [OutputSizeConfig(width=640), OutputSizeConfig()])
def test_a_strangers_face_is_blurred_where_it_is_on_the_served_frame(output) -> None:
    camera = CameraConfig(name="door", source=SourceConfig(kind=SourceKind.RTSP, uri="rtsp://192.0.2.10/s"),
                          output=output)
    sink = Sink()
    pipeline = CameraPipeline(camera, source_factory=lambda camera: Textured(), sink=sink,
                              metrics=DaemonMetrics.create(process=False), recognizer=Stranger())
    pipeline.blur_unknown = True
    pipeline.start()
    try:
        assert wait(lambda: len(sink.frames) >= 3, 10)
    finally:
        pipeline.stop(2.0)
    scale = 0.5 if output.width else 1.0
    top, right, bottom, left = (round(edge * scale) for edge in FACE.box)
    luma = yuv.luma(sink.frames[-1]).astype(float)
    inside = luma[top + 10:(top + bottom) // 2, left + 10:right - 10]  # above the name bar
    outside = luma[:top - 20, :left - 20]
    assert inside.std() < 0.3 * outside.std(), (inside.std(), outside.std())
