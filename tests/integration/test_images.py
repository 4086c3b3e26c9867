"""Photo decoding edge cases: every odd file is either turned into 8-bit RGB or refused with a reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from facedaemon.gallery.images import (
    MAX_FILE_BYTES,
    ImageError,
    ImageFormatError,
    ImageTooLarge,
    decode_rgb,
    load_rgb,
)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims a huge picture: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize(("data", "shape"), [
    (encoded(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"), (30, 40, 3)),
    (encoded(Image.fromarray(np.full((30, 40), 60000, np.uint16)), "PNG"), (30, 40, 3)),
    (encoded(Image.new("RGBA", (40, 30), (255, 0, 0, 128)), "PNG"), (30, 40, 3)),
    (encoded(Image.new("P", (40, 30), 3), "PNG"), (30, 40, 3)),
    (encoded(Image.new("L", (40, 30), 100), "WEBP"), (30, 40, 3)),
    (encoded(Image.new("RGB", (40, 30)), "PNG"), (30, 40, 3)),  # a PNG whatever its file name says
])
def test_odd_formats_become_8_bit_rgb(data, shape):
    rgb = decode_rgb(data)
    assert rgb.shape == shape and rgb.dtype == np.uint8


def test_16_bit_is_scaled_not_clipped():
    rgb = decode_rgb(encoded(Image.fromarray(np.full((4, 4), 32768, np.uint16)), "PNG"))
    assert 120 <= rgb[0, 0, 0] <= 135


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"GIF89a not really", "not an allowed image format"),
    (png_claiming(100_000, 100_000), "decompression bomb"),
    (png_claiming(8_000, 8_000), "too large"),
    (encoded(Image.new("RGB", (64, 64)), "JPEG")[:200], "corrupt"),
])
def test_bad_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImageError, match=reason):
        decode_rgb(data)


def test_pixel_limit_is_per_call():
    data = encoded(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageError, match="too large"):
        decode_rgb(data, max_pixels=5_000)
    assert decode_rgb(data).shape == (100, 100, 3)


def _other_formats() -> list[bytes]:
    found = [encoded(Image.new("RGB", (64, 64), "white"), fmt) for fmt in ("TIFF", "GIF", "PCX", "TGA", "ICO")]
    return [*found, b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n%%EOF\n"]


@pytest.mark.parametrize("data", _other_formats())
def test_only_jpeg_png_webp_bmp_are_decoded(data, monkeypatch):
    from PIL import EpsImagePlugin

    def no_ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript reached")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    with pytest.raises(ImageFormatError, match="use JPEG, PNG, WebP or BMP"):
        decode_rgb(data)


def test_a_sixteen_bit_bomb_is_refused_from_its_header():
    bomb = encoded(Image.fromarray(np.zeros((5000, 8000), np.uint16)), "PNG", compress_level=9)
    assert len(bomb) < 200_000
    with pytest.raises(ImageTooLarge, match=r"8000x5000 I;16 needs 76 MiB \(limit 48 MiB\)"):
        decode_rgb(bomb, max_side=1600)


def test_a_huge_file_is_not_read(tmp_path):
    path = tmp_path / "big.jpg"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ImageTooLarge, match="limit 20 MiB"):
        load_rgb(path)
