"""Decode an image file into an 8-bit RGB array, refusing what cannot or should not be decoded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


class ImageError(Exception):
    """The file cannot be used as an image; the message says why (without the path: callers add it)."""


def load_rgb(path: Path, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Read and decode `path`; see decode_rgb."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or exc}") from None
    return decode_rgb(data, max_pixels=max_pixels, max_side=max_side)


def decode_rgb(data: bytes, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB, EXIF orientation applied, alpha flattened onto white, shrunk to max_side if given."""
    if not data:
        raise ImageError("empty file")
    # Pillow's own bomb check reads a module global; escalate its warning and check our per-call limit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(f"too large: {width}x{height} pixels (limit {max_pixels})")
                if max_side is not None:
                    # JPEG can decode at 1/2, 1/4, 1/8 size directly: far less memory and time for big photos.
                    image.draft("RGB", (max_side, max_side))
                image.load()
                image = _upright(image)
                rgb = _to_rgb(image)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"refused as a decompression bomb: {exc}") from None
        except UnidentifiedImageError:
            raise ImageError("not a recognised image format") from None
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
        # convert("L") would clip 16-bit values at 255 instead of scaling them.
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if wide.max(initial=0) > 255 else 255.0
        grey = np.clip(wide * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode == "RGB":
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


