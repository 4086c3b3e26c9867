"""Hostile uploads for the web server: what the upload test and scripts/benchmarks/upload_bombs.py send."""

from __future__ import annotations

import io


def sixteen_bit_bomb() -> bytes:
    """~80 KB on the wire, 40 megapixels of 16-bit grey: the file that cost the worker 1.1 GB."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((5000, 8000), np.uint16)).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()
