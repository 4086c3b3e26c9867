"""Fragmented MP4 (as ffmpeg's mp4 muxer writes it with empty_moov + frag_every_frame) cut into the init segment
and per-frame fragments. Pure: bytes in, pieces out; no sockets, no processes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct(">I4s")
_LARGE = struct.Struct(">Q")
_INIT_BOXES = {b"ftyp", b"moov"}
_MAX_BOX = 64 << 20  # no frame or init segment comes near this: a larger size means the stream is out of step
_NON_SYNC = 0x00010000  # sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags


class StreamError(ValueError):
    """The bytes are not a fragmented MP4 stream this splitter understands."""


@dataclass(frozen=True, slots=True)
class Piece:
    data: bytes
    kind: str  # "init" (ftyp + moov) or "fragment" (prft?, moof, mdat: one frame)
    key: bool = False  # a fragment whose first sample is a sync sample: a viewer may start here


class FragmentSplitter:
    """Feed the muxer's byte stream in any chunks; get back whole pieces as soon as they are complete.

    ftyp + moov make the init segment; everything from the next box up to and including an mdat is one
    fragment (ffmpeg writes prft, moof, mdat per frame). Boxes are never split or rewritten.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._boxes: list[bytes] = []  # complete boxes of the piece being gathered
        self._init = False

    def feed(self, data: bytes) -> list[Piece]:
        self._buffer += data
        pieces: list[Piece] = []
        while (box := self._next_box()) is not None:
            piece = self._add(box)
            if piece is not None:
                pieces.append(piece)
        return pieces

    def _next_box(self) -> bytes | None:
        if len(self._buffer) < 8:
            return None
        size, kind = _HEADER.unpack_from(self._buffer)
        if size == 1:
            if len(self._buffer) < 16:
                return None
            size = _LARGE.unpack_from(self._buffer, 8)[0]
        if size < 8 or size > _MAX_BOX or not kind.isascii():
            raise StreamError(f"box {kind!r} of {size} bytes: not a fragmented MP4 stream")
        if len(self._buffer) < size:
            return None
        box = bytes(self._buffer[:size])
        del self._buffer[:size]
        return box

    def _add(self, box: bytes) -> Piece | None:
        kind = box[4:8]
        if kind in _INIT_BOXES:
            self._boxes.append(box)
            if kind == b"moov":
                self._init = True
                return self._take("init")
            return None
        if not self._init:
            raise StreamError(f"{kind.decode('ascii', 'replace')} box before the init segment (ftyp + moov)")
        self._boxes.append(box)
        return self._take("fragment") if kind == b"mdat" else None

    def _take(self, kind: str) -> Piece:
        boxes, self._boxes = self._boxes, []
        key = kind == "fragment" and any(_is_sync(box) for box in boxes if box[4:8] == b"moof")
        return Piece(b"".join(boxes), kind, key)


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    found = []
    while start + 8 <= end:
        size, kind = _HEADER.unpack_from(data, start)
        header = 8
        if size == 1:
            if start + 16 > end:  # a damaged box: no room for the 64-bit size it claims
                break
            size, header = _LARGE.unpack_from(data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            break
        found.append((kind, start + header, start + size))
        start += size
    return found


def _is_sync(moof: bytes) -> bool:
    """Whether the first sample of the (first) track fragment is a sync sample (a keyframe)."""
    for kind, start, end in _children(moof, 8, len(moof)):
        if kind == b"traf":
            return _first_sample_sync(moof, start, end)
    return False


def _first_sample_sync(data: bytes, start: int, end: int) -> bool:
    default_flags = None
    for kind, body, box_end in _children(data, start, end):
        if kind == b"tfhd":
            default_flags = _tfhd_default_flags(data, body, box_end)
        elif kind == b"trun":
            flags = _trun_first_flags(data, body, box_end)
            chosen = flags if flags is not None else default_flags
            return chosen is not None and not chosen & _NON_SYNC
    return False


def _tfhd_default_flags(data: bytes, body: int, end: int) -> int | None:
    flags = int.from_bytes(data[body + 1:body + 4], "big")
    at = body + 8  # version/flags, track_ID
    for bit, size in ((0x01, 8), (0x02, 4), (0x08, 4), (0x10, 4)):
        at += size if flags & bit else 0
    if flags & 0x20 and at + 4 <= end:
        return int.from_bytes(data[at:at + 4], "big")
    return None


def _trun_first_flags(data: bytes, body: int, end: int) -> int | None:
    flags = int.from_bytes(data[body + 1:body + 4], "big")
    at = body + 8  # version/flags, sample_count
    at += 4 if flags & 0x01 else 0  # data_offset
    if flags & 0x04:  # first_sample_flags
        return int.from_bytes(data[at:at + 4], "big") if at + 4 <= end else None
    if flags & 0x400:  # per-sample flags: the first sample's come after its duration and size
        at += (4 if flags & 0x100 else 0) + (4 if flags & 0x200 else 0)
        return int.from_bytes(data[at:at + 4], "big") if at + 4 <= end else None
    return None
