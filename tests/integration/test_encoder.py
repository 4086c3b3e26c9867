"""The encoder against the real ffmpeg: HLS on disk, restarts after death, hangs and size changes."""

import logging
import os
import re
import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facedaemon import yuv
from facedaemon.children.backoff import Backoff
from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.encoder import INPUT_FRAMES_BUFFERED, Encoder
from facedaemon.runtime.hls import prepare_hls_dir
from tests import ffmpegs

FPS = 30


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpegs.SUITE()


@pytest.fixture
def make_encoder(ffmpeg: str, tmp_path: Path):
    made: list[Encoder] = []

    def make(hls: HlsConfig | None = None, encoder: EncoderConfig | None = None, **kwargs) -> Encoder:
        kwargs.setdefault("backoff", Backoff(first=0.3, cap=1.0))
        enc = Encoder("cam1", kwargs.pop("ffmpeg", ffmpeg), tmp_path / "cam1", hls or HlsConfig(),
                      encoder or EncoderConfig(), **kwargs)
        made.append(enc)
        return enc

    yield make
    for enc in made:
        enc.stop(timeout=2.0)


def frame(index: int, width: int = 640, height: int = 360) -> np.ndarray:
    """A moving white square on a grey ramp, so the encoder has motion to code; I420 as sources give it."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = np.linspace(30, 120, width, dtype=np.uint8)[None, :, None]
    side = height // 6
    x = (index * 7) % (width - side)
    image[height // 3: height // 3 + side, x:x + side] = 255
    return yuv.from_bgr(image)


def feed(encoder: Encoder, seconds: float, width: int = 640, height: int = 360, start: int = 0,
         on_frame=None) -> list[bool]:
    """Write frames at FPS in real time; the results of write()."""
    results = []
    began = time.monotonic()
    for index in range(start, start + int(seconds * FPS)):
        results.append(encoder.write(frame(index, width, height)))
        if on_frame is not None:
            on_frame(index)
        delay = began + (index - start + 1) / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return results


def playlist_segments(out_dir: Path) -> list[str]:
    text = (out_dir / "index.m3u8").read_text()
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert '#EXT-X-MAP:URI="init.mp4"' in lines
    assert any(line.startswith("#EXT-X-TARGETDURATION:") for line in lines)
    segments = [line for line in lines if line and not line.startswith("#")]
    assert segments, text
    for name in segments:
        assert re.fullmatch(r"seg_\d{5,}\.m4s", name), name
        assert (out_dir / name).is_file(), f"{name} listed but missing"
    return segments


def seg_numbers(out_dir: Path) -> list[int]:
    return sorted(int(p.name[4:-4]) for p in out_dir.glob("seg_*.m4s"))


def decode(out_dir: Path, tmp_path: Path) -> list[np.ndarray]:
    """Decode init.mp4 + the listed segments. (Opening the playlist itself would make the HLS demuxer wait for
    a live playlist — omit_endlist — to grow.)"""
    joined = tmp_path / "joined.mp4"
    with joined.open("wb") as out:
        for name in ["init.mp4", *playlist_segments(out_dir)]:
            out.write((out_dir / name).read_bytes())
    capture = cv2.VideoCapture(str(joined))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def process_gone(pid: int) -> bool:
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("which", ffmpegs.BOTH)
def test_writes_a_valid_decodable_hls_stream(make_encoder, tmp_path: Path, which: str) -> None:
    encoder = make_encoder(HlsConfig(segment_seconds=1.0, playlist_size=6), ffmpeg=ffmpegs.binary(which))
    assert encoder.pid is None  # lazily started

    results = feed(encoder, 3.0)
    pid = encoder.pid
    assert pid is not None
    encoder.stop()

    assert all(results)
    assert encoder.restarts == 0
    assert process_gone(pid)
    out_dir = tmp_path / "cam1"
    assert len(playlist_segments(out_dir)) >= 2
    frames = decode(out_dir, tmp_path)
    assert len(frames) >= 0.8 * 3.0 * FPS
    assert {image.shape for image in frames} == {(360, 640, 3)}
    # The square moved: the stream is not a frozen frame.
    assert not np.array_equal(frames[0], frames[-1])


def test_old_segments_are_deleted(make_encoder, tmp_path: Path) -> None:
    encoder = make_encoder(HlsConfig(segment_seconds=0.5, playlist_size=2))
    out_dir = tmp_path / "cam1"
    on_disk: list[int] = []

    def count(index: int) -> None:
        if index % 5 == 0:
            on_disk.append(len(list(out_dir.glob("seg_*.m4s"))))

    assert all(feed(encoder, 4.0, on_frame=count))
    # playlist_size listed + 1 kept for slow readers (hls_delete_threshold) + 1 being written.
    assert max(on_disk) <= 2 + 1 + 1
    numbers = seg_numbers(out_dir)
    assert numbers[0] >= 3, numbers  # the first segments are long gone
    assert len(playlist_segments(out_dir)) == 2


def test_restarts_after_ffmpeg_is_killed(make_encoder, tmp_path: Path, caplog) -> None:
    restarts: list[int] = []
    encoder = make_encoder(HlsConfig(segment_seconds=0.5, playlist_size=4), on_restart=lambda: restarts.append(1))
    out_dir = tmp_path / "cam1"
    assert all(feed(encoder, 1.5))
    first_pid = encoder.pid
    assert first_pid is not None
    before = seg_numbers(out_dir)

    os.kill(first_pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING):
        results = feed(encoder, 2.5, start=45)

    assert encoder.restarts == 1
    assert restarts == [1]
    assert encoder.pid not in (None, first_pid)
    assert not all(results)  # frames during the backoff were dropped
    assert results[-1]
    after = seg_numbers(out_dir)
    assert min(after) > max(before), (before, after)  # numbering continues: no name is reused
    assert any("camera cam1: ffmpeg exited with code -9" in record.message for record in caplog.records)
    encoder.stop()
    playlist_segments(out_dir)


def test_frame_size_change_restarts_with_the_new_size(make_encoder, tmp_path: Path) -> None:
    encoder = make_encoder(HlsConfig(segment_seconds=0.5, playlist_size=6))
    assert all(feed(encoder, 1.0))
    first_pid = encoder.pid

    assert all(feed(encoder, 1.5, width=320, height=240))
    assert encoder.restarts == 1
    assert encoder.pid != first_pid
    assert process_gone(first_pid)
    encoder.stop()

    frames = decode(tmp_path / "cam1", tmp_path)
    assert frames
    assert {image.shape for image in frames} == {(240, 320, 3)}


def test_odd_picture_size_is_encoded_one_row_and_column_smaller(make_encoder, tmp_path: Path) -> None:
    encoder = make_encoder(HlsConfig(segment_seconds=0.5))
    assert all(feed(encoder, 1.0, width=321, height=241))
    encoder.stop()
    frames = decode(tmp_path / "cam1", tmp_path)
    assert frames and {image.shape for image in frames} == {(240, 320, 3)}


def test_a_whole_720p_frame_is_taken_at_once_while_ffmpeg_is_busy(make_encoder) -> None:
    """ffmpeg's input holds a whole frame and more (a socket, not a 1 MiB pipe): a camera's thread hands one over in
    one write, without waiting for ffmpeg to read its first part (encoder.py, INPUT_FRAMES_BUFFERED)."""
    needed = 1280 * 720 * 3 // 2 * INPUT_FRAMES_BUFFERED
    if int(Path("/proc/sys/net/core/wmem_max").read_text()) < needed:
        pytest.skip(f"net.core.wmem_max is under {needed} bytes: the socket cannot hold two 720p frames here")
    encoder = make_encoder(stall_seconds=2.0)
    assert all(feed(encoder, 0.5, 1280, 720))
    busy = encoder.pid
    assert busy is not None
    time.sleep(0.5)  # ffmpeg reads what it was given …
    os.kill(busy, signal.SIGSTOP)  # … then takes nothing more
    try:
        began = time.monotonic()
        assert encoder.write(frame(100, 1280, 720)), "the frame waited for ffmpeg"
        took = time.monotonic() - began
        assert took < 1.0, f"{took:.2f} s: the write waited for ffmpeg (a pipe held less than the frame)"
        assert encoder.pid == busy
    finally:
        os.kill(busy, signal.SIGCONT)


def test_hung_ffmpeg_is_killed_and_replaced(make_encoder, tmp_path: Path) -> None:
    encoder = make_encoder(HlsConfig(segment_seconds=0.5), stall_seconds=2.0)
    assert all(feed(encoder, 1.0))
    hung = encoder.pid
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)
    try:
        slowest = 0.0
        dropped = False
        for index in range(200):  # frames fill the pipe, then one write waits out the stall timeout
            began = time.monotonic()
            ok = encoder.write(frame(index))
            slowest = max(slowest, time.monotonic() - began)
            if not ok:
                dropped = True
                break
        assert dropped
        assert slowest > 1.5  # it did wait out the 2 s stall timeout before giving up...
        assert slowest < 3 * 2.0, "...but not three times as long"
        assert process_gone(hung)
        assert "hung" in (encoder.last_error or "")

        results = feed(encoder, 1.5)
        assert encoder.restarts == 1
        assert encoder.pid not in (None, hung)
        assert results[-1]
    finally:
        if not process_gone(hung):
            os.kill(hung, signal.SIGCONT)
            os.kill(hung, signal.SIGKILL)


def test_stop_leaves_no_ffmpeg_and_is_final(make_encoder, tmp_path: Path) -> None:
    encoder = make_encoder()
    assert all(feed(encoder, 0.5))
    pid = encoder.pid
    assert pid is not None
    started = time.monotonic()
    encoder.stop(timeout=3.0)
    assert time.monotonic() - started < 3.5
    assert process_gone(pid)
    assert encoder.pid is None
    encoder.stop()  # idempotent
    assert encoder.write(frame(0)) is False  # no new ffmpeg after stop
    assert encoder.pid is None


def test_broken_ffmpeg_is_retried_with_backoff_and_logged(make_encoder, tmp_path: Path, caplog) -> None:
    encoder = make_encoder(encoder=EncoderConfig(codec="no_such_encoder"), backoff=Backoff(first=0.2, cap=0.4))
    with caplog.at_level(logging.WARNING):
        results = feed(encoder, 2.0)
    assert encoder.restarts >= 2
    # Each new ffmpeg takes what its input socket holds (INPUT_FRAMES_BUFFERED frames) and a frame it reads before
    # it dies (more on a loaded machine); the frames fed during backoff (most of the ~60) are dropped.
    assert results.count(True) <= (INPUT_FRAMES_BUFFERED + 1) * (encoder.restarts + 1) < len(results)
    warnings = [record.message for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings and all(message.startswith("camera cam1: ") for message in warnings)
    assert any("no_such_encoder" in message for message in warnings)  # ffmpeg's own words, from its stderr
    assert len(warnings) <= 12  # one line per failure, rate-limited by the backoff
    assert "\n" not in warnings[0]


def test_missing_ffmpeg_binary_drops_frames_without_raising(make_encoder) -> None:
    encoder = make_encoder(ffmpeg="/nonexistent/ffmpeg")
    assert encoder.write(frame(0)) is False
    assert encoder.last_error is not None and "cannot start ffmpeg" in encoder.last_error
    assert encoder.pid is None


def test_rejects_frames_that_are_not_i420(make_encoder) -> None:
    encoder = make_encoder()
    with pytest.raises(ValueError, match="cam1"):
        encoder.write(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="I420"):
        encoder.write(np.zeros((12, 10, 3), np.uint8))  # BGR
    with pytest.raises(ValueError):
        encoder.write(np.zeros((10, 10, 3), np.float32))


def test_prepare_hls_dir_clears_a_previous_run(tmp_path: Path) -> None:
    out_dir = tmp_path / "cam"
    out_dir.mkdir()
    for name in ["index.m3u8", "index.m3u8.tmp", "init.mp4", "seg_00007.m4s", "seg_00008.m4s.tmp",
                 "seg_00011.m4s", "notes.txt"]:
        (out_dir / name).write_text("x")
    assert prepare_hls_dir(out_dir) == 12
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt"]
    assert prepare_hls_dir(tmp_path / "new" / "cam") == 0
    assert (tmp_path / "new" / "cam").is_dir()
