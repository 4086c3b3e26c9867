"""RTSP output parts without GStreamer: access-unit splitting, the hand-off framing, the sidecar's argv, the feed."""

from __future__ import annotations

import os
import socket
import time

import pytest

from facedaemon.outputs.rtsp.annexb import AccessUnit, AccessUnitSplitter, frame_message
from facedaemon.outputs.rtsp.feed import RtspFeed
from facedaemon.outputs.rtsp.server import sidecar_args
from facedaemon.outputs.rtsp.sidecar_gst import read_message
from tests.polling import wait

SPS, PPS, AUD = b"\x67\x42\x00\x1e", b"\x68\xce\x38\x80", b"\x09\xf0"
SEI = b"\x06\x05\x01\x80"  # NAL units end in a stop bit, never a zero byte


def idr(first: bool = True) -> bytes:
    return bytes([0x65, 0x88 if first else 0x40]) + b"\x11" * 20  # first_mb_in_slice 0 ⇔ top bit set


def p_slice(first: bool = True) -> bytes:
    return bytes([0x41, 0x9a if first else 0x20]) + b"\x22" * 20


def annexb(*nals: bytes, long: bool = True) -> bytes:
    return b"".join((b"\x00\x00\x00\x01" if long else b"\x00\x00\x01") + nal for nal in nals)


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


def test_framing_round_trip() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        for unit in (AccessUnit(b"\x00\x00\x00\x01key", True), AccessUnit(b"", False)):
            ours.sendall(frame_message(unit))
        assert read_message(theirs) == (b"\x00\x00\x00\x01key", True)
        assert read_message(theirs) == (b"", False)
        ours.close()
        assert read_message(theirs) is None


def test_sidecar_args() -> None:
    args = sidecar_args("/usr/bin/python3", "127.0.0.1:8554", [("door", "door", 7), ("yard", "cams/yard", 9)])
    assert args[:2] == ["/usr/bin/python3", "-I"]
    assert args[2].endswith("facedaemon/outputs/rtsp/sidecar_gst.py")
    assert args[3:] == ["--listen", "127.0.0.1:8554", "--mount", "door", "door", "7", "--mount", "yard",
                        "cams/yard", "9"]


def test_feed_forwards_from_a_keyframe_and_never_stops_draining() -> None:
    feed = RtspFeed("door", queue_frames=4, send_timeout=0.5)
    read_fd, write_fd = os.pipe()
    feed.attach(read_fd)
    gop = annexb(p_slice()) + annexb(SPS, PPS, idr()) + annexb(p_slice()) * 3
    os.write(write_fd, gop)  # nowhere to send yet: everything dropped
    ours, theirs = socket.socketpair()
    with theirs:
        feed.connect(ours)
        os.write(write_fd, gop + annexb(SPS, PPS, idr()))
        assert read_message(theirs)[1] is True, "the first frame sent is a keyframe"
        for _ in range(3):
            assert read_message(theirs)[1] is False
        # A receiver that stops reading costs frames, never a blocked writer.
        started = time.monotonic()
        for _ in range(200):
            os.write(write_fd, annexb(p_slice()) + b"\x33" * 20_000)
        assert time.monotonic() - started < 3.0
        assert wait(lambda: feed.dropped > 0, 5.0)
    os.close(write_fd)
    feed.close()
