"""RTSP output parts without GStreamer: access-unit splitting and the sidecar's argv (the hand-off framing and the
feed, over real pipes and sockets: tests/integration/test_rtsp_feed.py)."""

from __future__ import annotations

import pytest

from facedaemon.outputs.rtsp.annexb import AccessUnit, AccessUnitSplitter
from facedaemon.outputs.rtsp.server import sidecar_args
from tests.h264_stream import AUD, PPS, SEI, SPS, annexb, idr, p_slice


def split(stream: bytes, chunk: int) -> list[AccessUnit]:
    splitter = AccessUnitSplitter()
    units = []
    for at in range(0, len(stream), chunk):
        units += splitter.feed(stream[at:at + chunk])
    return units + splitter.flush()


STREAM = (annexb(SPS, PPS, SEI, idr(), idr(first=False))  # a two-slice keyframe, as x264 zerolatency makes
          + annexb(p_slice(), p_slice(first=False), long=False)
          + annexb(AUD, p_slice())
          + annexb(idr(), idr(first=False)))  # a keyframe without SPS/PPS (sent once, out of band)


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 10_000])
def test_splits_into_frames_whatever_the_chunking(chunk: int) -> None:
    units = split(STREAM, chunk)
    assert [unit.key for unit in units] == [True, False, False, True]
    assert units[0].data == annexb(SPS, PPS, SEI, idr(), idr(first=False))
    assert units[1].data == annexb(p_slice(), p_slice(first=False))
    assert units[2].data == annexb(AUD, p_slice())


def test_keyframes_without_parameter_sets_get_the_last_ones() -> None:
    last = split(STREAM, 5)[-1]
    assert last.data == annexb(SPS, PPS, idr(), idr(first=False))
    with_aud = split(annexb(SPS, PPS, idr(), AUD, idr()), 5)[-1]
    assert with_aud.data == annexb(AUD, SPS, PPS, idr())


def test_frames_wait_for_the_next_one_until_flush() -> None:
    splitter = AccessUnitSplitter()
    assert splitter.feed(annexb(SPS, PPS, idr())) == []
    assert [unit.key for unit in splitter.feed(annexb(p_slice()))] == [True]
    assert [unit.key for unit in splitter.flush()] == [False]


def test_garbage_without_start_codes_is_dropped() -> None:
    splitter = AccessUnitSplitter()
    assert splitter.feed(b"\xff" * 100) == [] and splitter.flush() == []
    assert split(annexb(SPS, PPS), 3) == []  # parameter sets alone are not a frame


def test_sidecar_args() -> None:
    args = sidecar_args("/usr/bin/python3", "127.0.0.1:8554", [("door", "door", 7), ("yard", "cams/yard", 9)])
    assert args[:2] == ["/usr/bin/python3", "-I"]
    assert args[2].endswith("facedaemon/outputs/rtsp/sidecar_gst.py")
    assert args[3:] == ["--listen", "127.0.0.1:8554", "--mount", "door", "door", "7", "--mount", "yard",
                        "cams/yard", "9"]
