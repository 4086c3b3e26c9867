"""A machine-readable clock for the test pattern: wall time in milliseconds as a stripe of black/white blocks.

The stripe spans the bottom rows of the frame: a white and a black reference block (the decoder's threshold
survives any brightness or colour shift), then 48 bits of milliseconds since the epoch and an 8-bit check
that rejects a misread. Blocks are 1/58 of the frame width, so a screenshot of the frame at
any size with the same aspect ratio still decodes, e.g. a browser's scaled <video> element after H.264.
"""

from __future__ import annotations

import numpy as np

VALUE_BITS = 48
CHECK_BITS = 8
BLOCKS = 2 + VALUE_BITS + CHECK_BITS
STRIPE_FRACTION = 1 / 24  # of the frame height
MODULUS = 1 << VALUE_BITS
_MIN_CONTRAST = 60  # white minus black reference, grey levels: less means this is not our stripe


def _check(value: int) -> int:
    # Not a plain byte sum: an all-black stripe (value 0) must not pass.
    return (sum(value.to_bytes(VALUE_BITS // 8, "big")) ^ 0xA5) & 0xFF


def encode_levels(value_ms: int) -> list[bool]:
    """The blocks left to right, True for white."""
    value = value_ms % MODULUS
    bits = [bool(value >> shift & 1) for shift in range(VALUE_BITS - 1, -1, -1)]
    check = _check(value)
    bits += [bool(check >> shift & 1) for shift in range(CHECK_BITS - 1, -1, -1)]
    return [True, False, *bits]


def stripe_height(height: int) -> int:
    return max(4, round(height * STRIPE_FRACTION))


def draw_code(image: np.ndarray, value_ms: int) -> None:
    """Paint the stripe for value_ms into the bottom rows of a BGR (or grey) image, in place."""
    height, width = image.shape[:2]
    top = height - stripe_height(height)
    for index, white in enumerate(encode_levels(value_ms)):
        left, right = index * width // BLOCKS, (index + 1) * width // BLOCKS
        image[top:, left:right] = 255 if white else 0


def decode_code(image: np.ndarray) -> int | None:
    """Milliseconds (mod 2**48) read from the stripe of a frame or a scaled copy of it; None if unreadable."""
    height, width = image.shape[:2]
    grey = image.astype(np.float32).mean(axis=2) if image.ndim == 3 else image.astype(np.float32)
    band = stripe_height(height)
    # Sample the middle half of each block in both directions: scaling and H.264 blur the edges.
    rows = grey[height - band * 3 // 4 : height - band // 4 or None]
    if rows.size == 0:
        return None
    levels = []
    for index in range(BLOCKS):
        left, right = index * width / BLOCKS, (index + 1) * width / BLOCKS
        quarter = (right - left) / 4
        block = rows[:, int(left + quarter) : max(int(right - quarter), int(left + quarter) + 1)]
        levels.append(float(block.mean()))
    white, black = levels[0], levels[1]
    if white - black < _MIN_CONTRAST:
        return None
    threshold = (white + black) / 2
    bits = [level > threshold for level in levels[2:]]
    value = int("".join("1" if bit else "0" for bit in bits[:VALUE_BITS]), 2)
    check = int("".join("1" if bit else "0" for bit in bits[VALUE_BITS:]), 2)
    return value if check == _check(value) else None


def delay_ms(now_ms: int, code_ms: int) -> int:
    """now minus the decoded time, across the 2**48 wrap (negative if the code is from the future)."""
    delta = (now_ms - code_ms) % MODULUS
    return delta - MODULUS if delta >= MODULUS // 2 else delta
