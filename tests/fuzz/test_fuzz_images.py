"""Fuzzed photos through the enrolment image checks (issue 25): real photos from ../shared/data as JPEG, PNG, WebP
and BMP, with mutated headers (dimensions, bytes of the first kilobyte) and truncations.

Each is refused with ImageError (the message says why, the upload answer's status follows its class) or decoded
within the limits (pixels and decode size), never another exception. Examples: tests/fuzz_profiles.py.
"""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from facedaemon.gallery.cache import LOAD_MAX_SIDE
from facedaemon.gallery.images import MAX_DECODE_BYTES, MAX_PIXELS, ImageError, decode_rgb

pytestmark = pytest.mark.needs_photos

SMALL_SIDE = 160  # the re-encoded copies: small, so a thousand decodes stay quick


@pytest.fixture(scope="module")
def photos(shared_data) -> list[bytes]:
    """The smallest real JPEG as it is, and a real photo re-encoded small as PNG (with alpha), WebP, BMP, JPEG."""
    folder = shared_data / "images"
    original = (folder / "obama2.jpg").read_bytes()
    with Image.open(folder / "biden.jpg") as image:
        image.thumbnail((SMALL_SIDE, SMALL_SIDE))
        small = image.convert("RGB")
    encoded = []
    for kind, picture in (("PNG", small.convert("RGBA")), ("WEBP", small), ("BMP", small), ("JPEG", small)):
        out = io.BytesIO()
        picture.save(out, kind)
        encoded.append(out.getvalue())
    return [original, *encoded]


def with_dimensions(data: bytes, width: int, height: int) -> bytes:
    """The header's width and height replaced where each format keeps them (checksums left stale, as an attacker
    would): JPEG SOF, PNG IHDR, BMP info header, WebP VP8/VP8L/VP8X."""
    out = bytearray(data)
    if data.startswith(b"\xff\xd8"):
        at = next((i for i in range(2, len(data) - 9) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2)), None)
        if at is not None:
            out[at + 5:at + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
    elif data.startswith(b"\x89PNG"):
        out[16:24] = struct.pack(">II", width & 0xFFFFFFFF, height & 0xFFFFFFFF)
    elif data.startswith(b"BM"):
        out[18:26] = struct.pack("<ii", width & 0x7FFFFFFF, (height & 0xFFFFFFFF) - (1 << 31))
    elif data[8:12] == b"WEBP":
        chunk = data[12:16]
        if chunk == b"VP8X":
            out[24:30] = b"".join(((side - 1) & 0xFFFFFF).to_bytes(3, "little") for side in (width, height))
        elif chunk == b"VP8 ":
            out[26:30] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
        elif chunk == b"VP8L":
            bits = ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14)
            out[21:25] = bits.to_bytes(4, "little")
    return bytes(out)


@st.composite
def mutated(draw, photos: list[bytes]) -> bytes:
    data = draw(st.sampled_from(photos))
    if draw(st.booleans()):
        side = st.one_of(st.integers(0, 70_000), st.sampled_from([0, 1, 16383, 65535, 1 << 31, (1 << 32) - 1]))
        data = with_dimensions(data, draw(side), draw(side))
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 6))):  # most parsing happens in the first kilobyte
        out[draw(st.integers(0, min(len(out), 1024) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        out = out[:draw(st.integers(0, len(out)))]
    return bytes(out)


@given(data=st.data())
def test_a_mutated_photo_is_refused_clearly_or_decoded_within_the_limits(photos: list[bytes],
                                                                          data: st.DataObject) -> None:
    image = data.draw(mutated(photos), label="image")
    max_side = data.draw(st.sampled_from([None, LOAD_MAX_SIDE]), label="max_side")
    try:
        rgb = decode_rgb(image, max_side=max_side)
    except ImageError as exc:
        assert str(exc)
        return
    height, width, channels = rgb.shape
    assert channels == 3 and rgb.dtype.name == "uint8"
    assert width * height <= MAX_PIXELS and rgb.nbytes <= MAX_DECODE_BYTES
    assert max_side is None or max(width, height) <= max_side
