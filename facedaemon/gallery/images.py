"""Decode an image file into an 8-bit RGB array, refusing what cannot or should not be decoded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Only these decoders ever run (Pillow's formats=): no TIFF, GIF, PCX, TGA, and never EPS (Ghostscript).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
ALLOWED_TEXT = "JPEG, PNG, WebP or BMP"
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo (JPEG decodes it reduced, see draft)
# What a full decode may allocate (width x height x bytes per pixel of its mode): 16 megapixels of RGB, so a
# 78 KB file that declares 40 megapixels of 16-bit grey is refused from its header instead of costing a
# gigabyte. JPEG (nearly every photo) is decoded reduced and is bound by MAX_PIXELS only.
MAX_DECODE_BYTES = 48 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024  # a file in faces_dir bigger than an upload may be is not read at all
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "RGB": 3, "YCbCr": 3, "LAB": 3, "LA": 2, "PA": 2, "La": 2,
                    "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2,
                    "I": 4}
_RESIZABLE_MODES = frozenset({"L", "RGB", "RGBA", "LA"})  # thumbnail keeps their meaning (not P, 1, 16-bit)
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"))


class ImageError(Exception):
    """The file cannot be used as an image; the message says why (without the path: callers add it)."""


class ImageFormatError(ImageError):
    """Not one of the allowed formats (HTTP 415)."""


class ImageTooLarge(ImageError):
    """Over a pixel, decode-size or file-size limit (HTTP 413); the message names the limit."""


def sniff_format(data: bytes) -> str:
    """The format the first bytes say, if allowed; raises ImageFormatError otherwise (before any decoder runs)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    raise ImageFormatError(f"not an allowed image format: use {ALLOWED_TEXT}")


def check_header(image: Image.Image, max_pixels: int, *, reduced: bool = False) -> None:
    """Refuse from the header what would be too costly to decode: pixel count, mode (bit depth), decode size."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(f"too large: {width}x{height} pixels (limit {max_pixels:,} pixels)")
    per_pixel = _BYTES_PER_PIXEL.get(image.mode)
    if per_pixel is None:
        raise ImageFormatError(f"unsupported pixel mode {image.mode}: use an 8-bit or 16-bit {ALLOWED_TEXT}")
    if image.format == "JPEG" and reduced:
        return  # decoded at 1/2, 1/4 or 1/8 size (draft); the pixel limit bounds the rest
    if width * height * per_pixel > MAX_DECODE_BYTES:
        raise ImageTooLarge(f"too large to decode: {width}x{height} {image.mode} needs "
                            f"{width * height * per_pixel // 2**20} MiB (limit {MAX_DECODE_BYTES // 2**20} MiB)")


def read_image_file(path: Path) -> bytes:
    """The bytes of an image file, refusing one over MAX_FILE_BYTES before reading it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImageTooLarge(f"file too large (limit {MAX_FILE_BYTES // 2**20} MiB)")
    return data


def load_rgb(path: Path, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Read and decode `path`; see decode_rgb."""
    data = read_image_file(path)
    return decode_rgb(data, max_pixels=max_pixels, max_side=max_side)


def decode_rgb(data: bytes, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB, EXIF orientation applied, alpha flattened onto white, shrunk to max_side if given."""
    if not data:
        raise ImageError("empty file")
    sniff_format(data)
    # Pillow's own bomb check reads a module global; escalate its warning and check our per-call limit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                check_header(image, max_pixels, reduced=max_side is not None)
                if max_side is not None:
                    # JPEG can decode at 1/2, 1/4, 1/8 size directly: far less memory and time for big photos.
                    image.draft("RGB", (max_side, max_side))
                image.load()
                if max_side is not None and max(image.size) > max_side and image.mode in _RESIZABLE_MODES:
                    # In place, before the copies that orientation and conversion make: the full-size pixels go.
                    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                image = _upright(image)
                rgb = _to_rgb(image)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"refused as a decompression bomb: {exc}") from None
        except UnidentifiedImageError:
            raise ImageFormatError(f"not a readable image: use {ALLOWED_TEXT}") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageError(f"corrupt image: {exc}") from None
    if max_side is not None and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block should not cost us the picture
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT_MODES:
        # convert("L") would clip 16-bit values at 255 instead of scaling them; integer maths, no float copy.
        wide = np.asarray(image)
        if wide.max(initial=0) > 255:
            wide = wide >> 8
        grey = np.clip(wide, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode == "RGB":
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
