"""Frame spacing across HLS segment boundaries, with the real ffmpeg (issue 15: a 1 ms frame, then 67 ms).

init.mp4 + consecutive segments are joined as a player appends them and the frame times read back. The exact test
adds a second output to the same encode, a framecrc listing of the packets the encoder stamped (the wall-clock
times ffmpeg read the frames at), and compares every gap of the HLS stream with it.
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from facedaemon import yuv
from facedaemon.children.backoff import Backoff
from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.encoder import Encoder
from facedaemon.outputs.ffmpeg_args import build_hls_args
from facedaemon.outputs.ffmpeg_binary import has_lookahead_setts
from tests import ffmpegs
from tests.hls_timing import (
    Joined,
    assert_boundaries_follow_stamps,
    describe,
    framecrc_times,
    join_segments,
    stamping_ffmpeg,
)

FPS = 30
SECONDS = 4.5
SEGMENT = 0.5  # short segments: ~8 boundaries in a short run
DROPPED = {40, 41, 42, 70}  # frames the "camera" loses: real gaps that must stay gaps
HLS = HlsConfig(segment_seconds=SEGMENT, playlist_size=30)  # every segment stays listed


# Both ffmpegs (tests/ffmpegs.py): Debian's missing fails in strict mode and skips loudly otherwise.
@pytest.fixture(scope="module", params=ffmpegs.BOTH)
def ffmpeg(request) -> str:
    path = ffmpegs.binary(request.param)
    if not has_lookahead_setts(path):
        pytest.skip(f"{path}: setts cannot read the next packet (older FFmpeg): the encoder keeps the old stamps")
    return path


def frame(index: int) -> np.ndarray:
    image = np.full((240, 320, 3), 60, np.uint8)
    image[100:140, (index * 5) % 280:(index * 5) % 280 + 40] = 255
    return yuv.from_bgr(image)


def paced(seconds: float):
    """Yield frame indices at FPS in real time, skipping DROPPED."""
    began = time.monotonic()
    for index in range(int(seconds * FPS)):
        if index not in DROPPED:
            yield index
        delay = began + (index + 1) / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def listed(out_dir: Path) -> tuple[bytes, list[bytes]]:
    lines = (out_dir / "index.m3u8").read_text().splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    return (out_dir / "init.mp4").read_bytes(), [(out_dir / name).read_bytes() for name in names]


def run_with_reference(ffmpeg: str, out_dir: Path, reference: Path, exact: bool) -> None:
    """The daemon's own tee command line (HLS + H.264 for RTSP) plus one more slave: framecrc of the same packets."""
    out_dir.mkdir()
    argv = build_hls_args(ffmpeg, width=320, height=240, out_dir=out_dir, hls=HLS, encoder=EncoderConfig(),
                          fps_hint=FPS, h264_out="pipe:1", exact_durations=exact)
    assert argv[-3:-1] == ["-f", "tee"]
    argv[-1] += f"|[f=framecrc]{reference}"
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for index in paced(SECONDS):
            proc.stdin.write(frame(index).tobytes())
            proc.stdin.flush()
        proc.stdin.close()
        assert proc.wait(20) == 0, proc.stderr.read().decode(errors="replace")
    finally:
        proc.kill()
        proc.wait()


def joined_and_reference(ffmpeg: str, tmp: Path, exact: bool) -> tuple[Joined, list[float]]:
    out_dir, reference = tmp / "cam", tmp / "reference.txt"
    run_with_reference(ffmpeg, out_dir, reference, exact)
    init, segments = listed(out_dir)
    assert len(segments) >= 6, f"{len(segments)} segments"
    return join_segments(ffmpeg, init, segments, tmp), framecrc_times(reference.read_text())


def test_boundary_spacing_is_the_encoders_stamps(ffmpeg: str, tmp_path: Path) -> None:
    joined, stamped = joined_and_reference(ffmpeg, tmp_path, exact=True)
    assert len(stamped) == int(SECONDS * FPS) - len(DROPPED)
    # The tee does not flush its slaves' filters at the end: the HLS side loses the very last frame of a run.
    assert len(joined.times) in (len(stamped) - 1, len(stamped))
    source = [later - earlier for earlier, later in itertools.pairwise(stamped[:len(joined.times)])]
    gaps = joined.gaps()
    # A segment cut at the very last frame (seen on a loaded machine) has no gap after its first frame.
    for start in (start for start in joined.starts if start < len(gaps)):
        for index in (start - 1, start):
            assert abs(joined.gaps()[index] - source[index]) <= 0.001, (
                f"frame {index + 1}: {joined.gaps()[index] * 1000:.1f} ms after the one before, "
                f"stamped {source[index] * 1000:.1f} ms; {describe(joined)}")
    # Every other gap too, and the dropped frames' gaps are still there (~4 and ~2 frame intervals).
    assert max(abs(got - want) for got, want in zip(joined.gaps(), source, strict=True)) <= 0.001
    assert max(joined.gaps()) > 3 * (1 / FPS)


def test_without_the_duration_filter_the_boundaries_stutter(ffmpeg: str, tmp_path: Path) -> None:
    """The cause, shown with the old arguments: each segment's first frame 1 ms after the previous one."""
    joined, _ = joined_and_reference(ffmpeg, tmp_path, exact=False)
    before = [gap for gap, _ in joined.boundary_gaps()]
    assert statistics.median(before) < 0.003, describe(joined)


def test_the_encoders_hls_has_no_stutter_at_boundaries(ffmpeg: str, tmp_path: Path) -> None:
    """Through the Encoder the daemon uses (HLS only, no tee): every boundary's spacing is the encoder's stamps.

    Compared with ffmpeg's own input stamps (a second output of the same frames), not with the usual spacing:
    under load ffmpeg reads (and stamps) the frames around a keyframe late and then in a burst, and the HLS
    stream rightly keeps those gaps (issue 25)."""
    stand_in, stamps = stamping_ffmpeg(ffmpeg, tmp_path)
    encoder = Encoder("cam1", str(stand_in), tmp_path / "cam1", HLS, EncoderConfig(), fps_hint=FPS)
    try:
        for index in paced(SECONDS):
            assert encoder.write(frame(index))
    finally:
        encoder.stop(timeout=30)  # time for a loaded ffmpeg to finish both outputs (the default kills it at 3 s)
    init, segments = listed(tmp_path / "cam1")
    joined = join_segments(ffmpeg, init, segments, tmp_path)
    assert_boundaries_follow_stamps(joined, framecrc_times(stamps.read_text()))


def test_the_probe_says_no_for_an_ffmpeg_that_refuses_the_filter(tmp_path: Path) -> None:
    old = tmp_path / "ffmpeg"
    old.write_text("#!/bin/sh\necho \"Undefined constant or missing '(' in 'NEXT_DTS'\" >&2\nexit 1\n")
    old.chmod(0o755)
    assert has_lookahead_setts(str(old)) is False
    assert has_lookahead_setts(str(tmp_path / "missing")) is False


def test_an_ffmpeg_without_the_filter_gets_the_old_arguments_and_one_warning(tmp_path: Path, caplog) -> None:
    old = tmp_path / "ffmpeg"
    old.write_text("#!/bin/sh\nexit 1\n")  # refuses the probe, then dies at once as the encoder's ffmpeg
    old.chmod(0o755)
    encoder = Encoder("cam1", str(old), tmp_path / "cam1", HLS, EncoderConfig(), backoff=Backoff(first=0.05, cap=0.1))
    try:
        with caplog.at_level("WARNING"):
            for index in range(40):
                encoder.write(frame(index))
                time.sleep(0.02)
    finally:
        encoder.stop()
    assert encoder.restarts >= 2
    notes = [record.message for record in caplog.records if "no setts filter" in record.message]
    assert len(notes) == 1 and notes[0].startswith("camera cam1: ")
