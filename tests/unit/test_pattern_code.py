"""The pattern's machine-readable clock stripe: what is drawn reads back, scaled, noisy or wrapped."""

from __future__ import annotations

import numpy as np
import pytest

from facedaemon.sources.pattern_code import BLOCKS, MODULUS, decode_code, delay_ms, draw_code, encode_levels

NOW_MS = 1_767_000_000_123


def frame(width: int = 1280, height: int = 720, value: int = NOW_MS) -> np.ndarray:
    image = np.full((height, width, 3), 40, np.uint8)
    draw_code(image, value)
    return image


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter downscale, like a browser drawing a 1280-wide video into a smaller element."""
    height, width = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:height, :width].reshape(height // factor, factor, width // factor, factor, 3)
    return blocks.mean(axis=(1, 3)).astype(np.uint8)


@pytest.mark.parametrize("value", [0, 1, NOW_MS, MODULUS - 1, MODULUS + 5])
def test_round_trip(value):
    assert decode_code(frame(value=value)) == value % MODULUS


def test_levels_start_with_white_and_black_references():
    levels = encode_levels(NOW_MS)
    assert len(levels) == BLOCKS and levels[:2] == [True, False]


@pytest.mark.parametrize(("width", "height"), [(320, 180), (640, 360), (1920, 1080)])
def test_other_frame_sizes(width, height):
    assert decode_code(frame(width, height)) == NOW_MS


def test_scaled_down_copy_still_reads():
    assert decode_code(shrink(frame(), 2)) == NOW_MS


def test_noise_and_dim_contrast_still_read():
    image = frame().astype(np.int16)
    image = image * 0.6 + 50 + np.random.default_rng(1).normal(0, 12, image.shape)
    assert decode_code(np.clip(image, 0, 255).astype(np.uint8)) == NOW_MS


def test_no_stripe_reads_as_none():
    assert decode_code(np.full((720, 1280, 3), 128, np.uint8)) is None
    assert decode_code(np.zeros((720, 1280, 3), np.uint8)) is None


def test_a_flipped_bit_is_rejected():
    image = frame()
    left, right = 10 * 1280 // BLOCKS, 11 * 1280 // BLOCKS
    image[-30:, left:right] = 255 - image[-30:, left:right]
    assert decode_code(image) is None


def test_delay_across_the_wrap():
    assert delay_ms(NOW_MS + 1500, NOW_MS) == 1500
    assert delay_ms(5, MODULUS - 10) == 15
    assert delay_ms(NOW_MS, NOW_MS + 20) == -20
