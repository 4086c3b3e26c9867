"""The RTSP hand-off over real pipes and sockets: the framing read back, and the feed that forwards the encoder's
stream to the sidecar from a keyframe on, never blocking the writer."""

from __future__ import annotations

import os
import socket
import time

from facedaemon.outputs.rtsp.annexb import AccessUnit, frame_message
from facedaemon.outputs.rtsp.feed import RtspFeed
from facedaemon.outputs.rtsp.sidecar_gst import read_message
from tests.h264_stream import PPS, SPS, annexb, idr, p_slice
from tests.polling import wait


def test_framing_round_trip() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        for unit in (AccessUnit(b"\x00\x00\x00\x01key", True), AccessUnit(b"", False)):
            ours.sendall(frame_message(unit))
        assert read_message(theirs) == (b"\x00\x00\x00\x01key", True)
        assert read_message(theirs) == (b"", False)
        ours.close()
        assert read_message(theirs) is None


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
