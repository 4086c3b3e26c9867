"""Hand-made fMP4 for the live path tests: an init segment and prft + moof + mdat fragments as ffmpeg writes them."""

from __future__ import annotations

import struct

NON_SYNC = 0x00010000


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, flags: int, payload: bytes, version: int = 0) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def init_segment() -> bytes:
    return box(b"ftyp", b"isom\0\0\2\0") + box(b"moov", box(b"mvhd", bytes(100)))


def fragment(key: bool, *, how: str = "first", frame: bytes = b"frame") -> bytes:
    """prft + moof + mdat as ffmpeg writes them; the keyframe flag where `how` says."""
    flags = 0 if key else NON_SYNC
    if how == "first":  # trun first_sample_flags (ffmpeg's way)
        tfhd = full_box(b"tfhd", 0x020000, struct.pack(">I", 1))
        trun = full_box(b"trun", 0x000205, struct.pack(">IiI", 1, 0, flags) + struct.pack(">I", len(frame)))
    elif how == "default":  # tfhd default_sample_flags, after base offset and sample description index
        tfhd = full_box(b"tfhd", 0x000023, struct.pack(">IQII", 1, 0, 1, flags))
        trun = full_box(b"trun", 0x000201, struct.pack(">Ii", 1, 0) + struct.pack(">I", len(frame)))
    else:  # per-sample flags after duration and size
        tfhd = full_box(b"tfhd", 0x020000, struct.pack(">I", 1))
        trun = full_box(b"trun", 0x000701, struct.pack(">IiIII", 1, 0, 3000, len(frame), flags))
    moof = box(b"moof", full_box(b"mfhd", 0, struct.pack(">I", 1)) + box(b"traf", tfhd + trun))
    return full_box(b"prft", 0x18, bytes(16)) + moof + box(b"mdat", frame)
