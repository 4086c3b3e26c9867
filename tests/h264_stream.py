"""Hand-made H.264 Annex B streams for the RTSP output tests: parameter sets, slices, start codes."""

from __future__ import annotations

SPS, PPS, AUD = b"\x67\x42\x00\x1e", b"\x68\xce\x38\x80", b"\x09\xf0"
SEI = b"\x06\x05\x01\x80"  # NAL units end in a stop bit, never a zero byte


def idr(first: bool = True) -> bytes:
    return bytes([0x65, 0x88 if first else 0x40]) + b"\x11" * 20  # first_mb_in_slice 0 ⇔ top bit set


def p_slice(first: bool = True) -> bytes:
    return bytes([0x41, 0x9a if first else 0x20]) + b"\x22" * 20


def annexb(*nals: bytes, long: bool = True) -> bytes:
    return b"".join((b"\x00\x00\x00\x01" if long else b"\x00\x00\x01") + nal for nal in nals)
