"""BlazeFace decoding and tile geometry (faces/blazeface.py, faces/detect.py's pure helpers): no model, no I/O."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from facedaemon.faces.blazeface import (
    FULL_RANGE,
    SHORT_RANGE,
    Detection,
    ModelSpec,
    Tile,
    anchors,
    centre_inside,
    decode,
    nms,
    overlap,
    tiles,
    to_box,
)
from facedaemon.faces.detect import TILE_OVERLAP, grid_side, scan_tiles, tile_core


def test_anchor_counts_and_order_match_the_models_outputs() -> None:
    assert anchors(SHORT_RANGE).shape == (896, 2)  # 16×16×2 + 8×8×6
    assert anchors(FULL_RANGE).shape == (2304, 2)  # 48×48×1
    short = anchors(SHORT_RANGE)
    # Row-major cells, each repeated per anchor: first two anchors share the first stride-8 cell's centre.
    assert short[0].tolist() == [4.0, 4.0] == short[1].tolist()
    assert short[2].tolist() == [12.0, 4.0]
    assert short[32].tolist() == [4.0, 12.0]  # the second row starts after 16 cells × 2
    assert short[512].tolist() == [8.0, 8.0]  # the stride-16 grid starts after 512
    assert short[-1].tolist() == [120.0, 120.0]
    full = anchors(FULL_RANGE)
    assert full[0].tolist() == [2.0, 2.0] and full[-1].tolist() == [190.0, 190.0]


def test_decode_turns_regressors_into_boxes_and_keypoints_in_input_pixels() -> None:
    spec = ModelSpec("x.tflite", 16, ((8, 1),), "s", "r")  # 2×2 grid: anchors at 4 and 12
    centres = anchors(spec)
    regressors = np.zeros((4, 16), np.float32)
    logits = np.full(4, -10.0, np.float32)
    regressors[3, :4] = [1.0, -2.0, 6.0, 8.0]  # anchor (12, 12): centre (13, 10), 6 wide, 8 tall
    regressors[3, 4:6] = [-1.0, -1.0]  # first key point at (11, 11)
    logits[3] = 2.0
    (det,) = decode(regressors, logits, centres, min_score=0.5)
    assert det.box == pytest.approx((6.0, 16.0, 14.0, 10.0))  # (top, right, bottom, left)
    assert det.keypoints[0] == pytest.approx((11.0, 11.0))
    assert det.score == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert decode(regressors, logits, centres, min_score=0.9) == []


def _det(box: tuple[float, float, float, float], score: float) -> Detection:
    return Detection(box, score, ())


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones() -> None:
    a = _det((0, 10, 10, 0), 0.9)
    b = _det((1, 11, 11, 1), 0.8)  # IoU ~0.68 with a
    c = _det((50, 60, 60, 50), 0.7)
    assert nms([b, c, a]) == [a, c]
    assert overlap(a.box, c.box) == 0.0
    assert overlap(a.box, a.box) == pytest.approx(1.0)


def test_tiles_cover_a_region_with_the_overlap_asked_for() -> None:
    plan = tiles((0, 1000, 500, 0), 300, 60)
    lefts = sorted({t.left for t in plan})
    tops = sorted({t.top for t in plan})
    assert lefts[0] == 0 and lefts[-1] + 300 == 1000
    assert tops[0] == 0 and tops[-1] + 300 == 500
    assert all(b - a <= 300 - 60 for a, b in pairwise(lefts))
    assert len(tiles((0, 100, 80, 0), 300, 60)) == 1  # smaller than a tile: one


def test_tile_maps_input_pixels_back_to_the_source() -> None:
    tile = Tile(top=100, left=200, side=384)  # 384 source px → 192 input px: factor 2
    det = Detection((10.0, 30.0, 20.0, 14.0), 0.9, ((15.0, 12.0),))
    moved = tile.to_source(det, 192)
    assert moved.box == pytest.approx((120.0, 260.0, 140.0, 228.0))
    assert moved.keypoints[0] == pytest.approx((230.0, 124.0))
    assert to_box(Detection((-3.2, 50.6, 20.0, 10.4), 1.0, ()), (15, 40, 3)) == (0, 40, 15, 10)


def test_a_whole_frame_scan_has_one_letterboxed_tile_and_a_grid() -> None:
    plan = scan_tiles((1080, 1920, 3))
    coarse, grid = plan[0], plan[1:]
    assert (coarse.top, coarse.left, coarse.side) == (-420, 0, 1920)
    assert all(t.side == grid_side() for t in grid)
    # Every point of the frame lies in some grid tile, and a face up to the overlap lies whole in one.
    face = round(grid_side() * TILE_OVERLAP)
    for y in range(0, 1080 - face, 37):
        for x in range(0, 1920 - face, 41):
            assert any(t.top <= y and y + face <= t.top + t.side and t.left <= x and x + face <= t.left + t.side
                       for t in grid), (y, x)
    # A small region (around a tracked face) is one tile of its own.
    assert scan_tiles((1080, 1920, 3), [(100, 260, 200, 100)]) == [Tile(70, 100, 160)]


def test_a_region_around_a_tracked_face_skips_the_grid_only_when_its_coarse_tile_sees_that_face() -> None:
    shape = (720, 1280, 3)
    face = (150, 500, 300, 350)  # 150 px tall
    region = (0, 650, 450, 200)  # the face grown by its size each way: 450 px, more than a grid tile
    assert len(scan_tiles(shape, [region])) > 1, "a region without tracked faces keeps the small-face grid"
    assert scan_tiles(shape, [region], [face]) == [Tile(0, 200, 450)]
    small = (200, 230, 230, 200)  # a 30 px face in the same region: the coarse tile (faces from ~28 px) is too coarse
    assert len(scan_tiles(shape, [region], [face, small])) > 1
    elsewhere = (600, 1030, 700, 930)  # a tracked face outside the region does not count
    assert len(scan_tiles(shape, [region], [elsewhere])) > 1
    assert len(scan_tiles(shape, None, [face])) > 1, "a whole-frame scan always keeps the grid"


def test_source_boxes_map_into_a_tile_input_clipped_and_centres_are_tested() -> None:
    tile = Tile(100, 200, 384)  # 384 source px → 192 input px: half size
    assert tile.to_input((120, 300, 220, 240), 192) == (10, 60, 20, 50)
    assert tile.to_input((0, 1000, 1000, 0), 192) == (0, 192, 0, 192)  # clipped to the input
    top, bottom, left, right = tile.to_input((900, 100, 950, 50), 192)  # outside the tile: empty
    assert bottom - top <= 0 or right - left <= 0
    det = Detection((10.0, 30.0, 20.0, 14.0), 0.9, ())  # centre (x 22, y 15)
    assert centre_inside(det, [(0, 25, 16, 20)]) and not centre_inside(det, [(16, 40, 30, 0)])
    assert not centre_inside(det, [])


def test_person_regions_cover_head_and_shoulders_clamped_and_merged() -> None:
    from facedaemon.faces.detect import person_regions

    shape = (720, 1280, 3)
    assert person_regions([(200, 500, 300, 400)], shape) == [(100, 650, 600, 250)]  # 1.5 widths aside, 3 heights below
    assert person_regions([(650, 1280, 700, 1230)], shape) == [(600, 1280, 720, 1155)]  # clamped to the frame
    two = person_regions([(200, 500, 300, 400), (220, 700, 320, 600)], shape)
    assert two == [(100, 850, 620, 250)], "overlapping people: one area"


def test_tile_cores_meet_without_gaps_and_reach_the_frame_edges() -> None:
    frame = (0, 1920, 1080, 0)
    grid = scan_tiles((1080, 1920, 3))[1:]
    size = 192
    factor = grid_side() / size
    for y in range(0, 1080, 13):
        for x in range(0, 1920, 17):
            owners = []
            for t in grid:
                top, bottom, left, right = tile_core(t, frame, size)
                if t.top + top * factor <= y < t.top + bottom * factor and \
                        t.left + left * factor <= x < t.left + right * factor:
                    owners.append(t)
            assert owners, (y, x)
    assert tile_core(Tile(-420, 0, 1920), frame, size) == (0, 192, 0, 192)
