"""I420 frames: planes, conversions, drawing and blurring on them without converting the whole frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facedaemon import yuv
from facedaemon.annotate.blur import blur_faces
from facedaemon.annotate.draw import KNOWN_COLOUR, UNKNOWN_COLOUR, draw_faces, draw_faces_i420, layout
from facedaemon.faces.types import UNKNOWN, FaceResult


def noisy_bgr(height: int = 240, width: int = 320, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_planes_are_views_in_the_i420_layout() -> None:
    frame = yuv.from_bgr(noisy_bgr(270, 320))  # 270 rows: the U plane ends half way along an array row
    assert frame.shape == (405, 320) and yuv.is_i420(frame) and yuv.size(frame) == (320, 270)
    y, u, v = yuv.planes(frame)
    assert y.shape == (270, 320) and u.shape == v.shape == (135, 160)
    u[:] = 1
    v[:] = 2
    flat = frame.reshape(-1)
    assert (flat[320 * 270:320 * 270 + 160 * 135] == 1).all() and (flat[-160 * 135:] == 2).all()
    np.testing.assert_array_equal(yuv.luma(frame), y)


def test_only_even_uint8_two_dimensional_frames_are_i420() -> None:
    assert yuv.is_i420(np.zeros((6, 4), np.uint8))
    for bad in (np.zeros((4, 4, 3), np.uint8), np.zeros((7, 4), np.uint8), np.zeros((6, 3), np.uint8),
                np.zeros((6, 4), np.float32), np.zeros((0, 4), np.uint8)):
        assert not yuv.is_i420(bad), bad.shape


def test_odd_pictures_lose_their_last_row_and_column_and_colours_survive_the_round_trip() -> None:
    picture = np.full((241, 321, 3), (40, 160, 220), np.uint8)
    frame = yuv.from_bgr(picture)
    assert yuv.size(frame) == (320, 240)
    assert np.abs(yuv.to_bgr(frame).astype(int) - picture[:240, :320]).max() <= 3
    with pytest.raises(ValueError, match="1x5"):
        yuv.from_bgr(np.zeros((5, 1, 3), np.uint8))


def test_even_area_grows_to_even_edges_inside_the_frame() -> None:
    assert yuv.even_area((3, 9, 7, 1), 100, 100) == (2, 10, 8, 0)
    assert yuv.even_area((-5, 120, 101, 95), 100, 100) == (0, 100, 100, 94)
    assert yuv.even_area((50, 40, 50, 20), 100, 100) is None
    assert yuv.even_area((10, 200, 20, 150), 100, 100) is None


def test_a_patch_drawn_on_is_written_back_and_the_rest_of_the_frame_is_untouched() -> None:
    frame = yuv.from_bgr(noisy_bgr())
    before = frame.copy()
    with yuv.bgr_patch(frame, (11, 61, 51, 21)) as patch:
        assert patch is not None and patch.shape == (42, 42, 3)  # (10, 62, 52, 20): even edges
        patch[:] = (0, 200, 0)
    drawn = yuv.to_bgr(frame)
    assert np.abs(drawn[12:50, 22:60].astype(int) - (0, 200, 0)).max() <= 3
    changed = np.argwhere(yuv.luma(frame) != yuv.luma(before))
    assert changed[:, 0].min() >= 10 and changed[:, 0].max() < 52 and changed[:, 1].min() >= 20
    assert changed[:, 1].max() < 62
    with yuv.bgr_patch(frame, (500, 600, 520, 580)) as outside:
        assert outside is None


@pytest.mark.parametrize("name, colour", [("Obama", KNOWN_COLOUR), (UNKNOWN, UNKNOWN_COLOUR)])
def test_labels_on_i420_look_like_labels_on_bgr(name: str, colour: tuple[int, int, int]) -> None:
    """The pipeline draws on I420 patches; the picture is what drawing on the whole BGR frame gives."""
    picture = np.full((720, 1280, 3), 90, np.uint8)
    face = FaceResult(name, 0.9, 0.4, (300, 700, 420, 600), 1)
    expected = picture.copy()
    draw_faces(expected, [face])
    frame = yuv.from_bgr(picture)
    draw_faces_i420(frame, [face])
    drawn = yuv.to_bgr(frame)
    label = layout(face, 1280, 720)
    left, top, _right, bottom = label.box
    assert np.abs(drawn[(top + bottom) // 2, left].astype(int) - colour).max() <= 12, "the box's left edge"
    assert np.abs(drawn.astype(int) - expected).mean() < 1.0
    top_e, right_e, bottom_e, left_e = label.extent()
    untouched = np.ones(drawn.shape[:2], bool)
    untouched[max(0, top_e - 2):bottom_e + 2, max(0, left_e - 2):right_e + 2] = False
    assert (np.abs(drawn.astype(int) - 90)[untouched] <= 2).all(), "nothing drawn outside the label"


def test_a_label_at_the_frame_edge_stays_inside() -> None:
    frame = yuv.from_bgr(np.full((360, 640, 3), 90, np.uint8))
    draw_faces_i420(frame, [FaceResult("Obama", 0.9, 0.4, (300, 640, 360, 560), 1)])  # bottom-right corner
    assert frame.shape == (540, 640)
    drawn = yuv.to_bgr(frame)
    assert np.abs(drawn[340:360, 560:640].astype(int) - KNOWN_COLOUR).sum(axis=-1).min() < 30


def test_unknown_faces_are_blurred_on_i420_planes_and_known_ones_kept() -> None:
    picture = noisy_bgr()
    frame = yuv.from_bgr(picture)
    before = frame.copy()
    unknown = FaceResult(UNKNOWN, 0.3, 0.7, (40, 120, 120, 40), 1)
    known = FaceResult("Obama", 0.9, 0.4, (40, 300, 120, 220), 2)
    assert blur_faces(frame, [unknown, known]) == 1

    def detail(image: np.ndarray) -> float:
        return float(cv2.Laplacian(image, cv2.CV_64F).var())

    y, u, _ = yuv.planes(frame)
    y0, u0, _ = yuv.planes(before)
    assert detail(y[20:140, 20:140]) < detail(y0[20:140, 20:140]) / 50
    assert detail(u[10:70, 10:70]) < detail(u0[10:70, 10:70]) / 20, "colour detail goes too"
    np.testing.assert_array_equal(y[40:120, 220:300], y0[40:120, 220:300])


def test_labels_are_drawn_on_the_planes_without_converting_any_pixel_to_bgr(monkeypatch) -> None:
    """Drawing was a BGR round trip of each label's area (~140 µs a face); now straight on Y, U and V."""
    import facedaemon.annotate.draw as draw

    face = FaceResult("Obama", 0.9, 0.4, (300, 700, 420, 600), 1)
    frame = yuv.from_bgr(np.full((720, 1280, 3), 90, np.uint8))
    draw.i420_colour(KNOWN_COLOUR), draw.i420_colour((255, 255, 255))  # the colours, worked out once

    def converted(*_args, **_kwargs):
        raise AssertionError("a BGR conversion while drawing a frame")

    monkeypatch.setattr(yuv, "to_bgr", converted)
    monkeypatch.setattr(yuv, "from_bgr", converted)
    monkeypatch.setattr(yuv, "bgr_patch", converted)
    before = frame.copy()
    draw_faces_i420(frame, ())
    assert np.array_equal(frame, before), "no face: nothing drawn"
    draw_faces_i420(frame, [face])
    assert not np.array_equal(frame, before)
