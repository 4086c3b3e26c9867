"""The live path's pure parts: fMP4 cut into init segment and per-frame fragments, and one viewer's queue."""

from __future__ import annotations

import struct

import pytest

from facedaemon.outputs.live.boxes import FragmentSplitter, Piece, StreamError
from facedaemon.outputs.live.fanout import ViewerQueue
from tests.fmp4_stream import box, fragment, init_segment


def split(data: bytes, chunk: int) -> list[Piece]:
    splitter = FragmentSplitter()
    return [piece for at in range(0, len(data), chunk) for piece in splitter.feed(data[at:at + chunk])]


@pytest.mark.parametrize("chunk", [1, 7, 100, 1 << 20])
def test_init_then_one_fragment_per_frame_whatever_the_chunks(chunk: int) -> None:
    stream = init_segment() + fragment(True) + fragment(False) + fragment(False) + fragment(True)
    pieces = split(stream, chunk)
    assert [piece.kind for piece in pieces] == ["init", "fragment", "fragment", "fragment", "fragment"]
    assert [piece.key for piece in pieces[1:]] == [True, False, False, True]
    assert b"".join(piece.data for piece in pieces) == stream  # boxes are passed on untouched
    assert pieces[0].data == init_segment()


@pytest.mark.parametrize("how", ["first", "default", "per-sample"])
def test_keyframes_found_wherever_the_sample_flags_are(how: str) -> None:
    pieces = split(init_segment() + fragment(True, how=how) + fragment(False, how=how), 1 << 20)
    assert [piece.key for piece in pieces[1:]] == [True, False]


def test_a_fragment_waits_for_its_mdat() -> None:
    splitter = FragmentSplitter()
    data = init_segment() + fragment(True)
    assert [p.kind for p in splitter.feed(data[:-3])] == ["init"]
    assert [p.kind for p in splitter.feed(data[-3:])] == ["fragment"]


def test_large_size_boxes() -> None:
    mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 5) + b"frame"
    stream = init_segment() + fragment(True)[:-len(box(b"mdat", b"frame"))] + mdat
    pieces = split(stream, 3)
    assert [p.kind for p in pieces] == ["init", "fragment"] and pieces[1].data.endswith(mdat)


@pytest.mark.parametrize("data, why", [
    (b"\0\0\0\4junk" + bytes(20), "not a fragmented MP4"),
    (fragment(True), "before the init segment"),
])
def test_what_is_not_our_stream_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(StreamError, match=why):
        FragmentSplitter().feed(data)


# -- one viewer's queue -------------------------------------------------------------------------------------------
INIT = Piece(b"I", "init")


def frame(n: int, key: bool = False) -> Piece:
    return Piece(f"<{n}>".encode(), "fragment", key)


def drain(queue: ViewerQueue, step: int = 1 << 20) -> bytes:
    out = b""
    while chunk := queue.chunk():
        out += bytes(chunk[:step])
        queue.wrote(min(step, len(chunk)))
    return out


def test_a_new_viewer_gets_the_init_and_the_current_gop_at_once() -> None:
    queue = ViewerQueue(max_queued=2)
    queue.start(INIT, [frame(0, key=True), frame(1), frame(2), frame(3)])  # longer than the bound: still sent
    queue.offer(frame(4))
    assert drain(queue) == b"I<0><1><2><3><4>"
    assert (queue.sent, queue.dropped) == (5, 0)


def test_without_a_keyframe_to_start_from_a_viewer_waits_for_the_next() -> None:
    queue = ViewerQueue()
    queue.start(INIT, [])
    for piece in (frame(1), frame(2), frame(3, key=True), frame(4)):
        queue.offer(piece)
    assert drain(queue) == b"I<3><4>"
    assert queue.dropped == 2


def test_a_viewer_that_falls_behind_loses_its_queue_and_resumes_at_a_keyframe() -> None:
    queue = ViewerQueue(max_queued=3)
    queue.start(INIT, [frame(0, key=True)])
    assert drain(queue) == b"I<0>"
    for n in range(1, 4):
        queue.offer(frame(n))  # the viewer reads nothing meanwhile
    queue.offer(frame(4))  # one too many: <1>..<3> are late, <4> depends on them
    queue.offer(frame(5))
    queue.offer(frame(6, key=True))
    queue.offer(frame(7))
    assert drain(queue) == b"<6><7>"
    assert (queue.sent, queue.dropped) == (3, 5)


def test_the_piece_being_written_is_never_cut_by_a_drop() -> None:
    queue = ViewerQueue(max_queued=1)
    queue.start(INIT, [frame(0, key=True)])
    assert drain(queue) == b"I<0>"
    queue.offer(Piece(b"<1-long-frame>", "fragment"))
    first = queue.chunk()
    queue.wrote(3)  # half of it is in the socket
    assert bytes(first[:3]) == b"<1-"
    queue.offer(frame(2))  # behind: drops what is queued, not what is half written
    queue.offer(frame(3, key=True))
    assert drain(queue, step=2) == b"long-frame><3>"
