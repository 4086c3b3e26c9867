"""Clips for `facedaemon bench --labels`, built from the shared photos, with their ground truth.

Four kinds, 720p 30 fps, each opening on an empty textured scene:
- "turn": the known person turning his head left, right and down. The shared photos are near-frontal, so the turn
  is a perspective warp of a frontal photo (a flat face rotated in depth): a synthetic proxy, labelled as such;
- "walk": the known person walking from far to near, his face growing from 24 px to 220 px, several times;
- "strangers": people NOT in the gallery, one after another (each where the previous one was not), frontal,
  drifting;
- "both": the known person (frontal, drifting) on the left the whole time, the strangers one after another on the
  right.

Everything on screen comes from the pure functions here (`placements`), used both to render the frames and to
tell the recorder what is where on each frame, so nothing is guessed afterwards.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facedaemon.faces.types import Box

KINDS = ("turn", "walk", "strangers", "both")
FOOTAGE = "footage"  # real footage of the known person, alone in the frame (bench/labels_footage.py)
KNOWN_PERSON = "Obama"
KNOWN_PHOTO = "images/obama.jpg"  # the gallery holds obama2.jpg and obama3.jpg: other photos of him
SECOND_PERSON, SECOND_PHOTO = "Taylor", "known_faces/Taylor.jpg"  # the gallery's other person
STRANGER_PHOTOS = ("images/biden.jpg", "known_faces/ChengHaoXie.jpg", "known_faces/GEM.jpg",
                   "known_faces/KaiYuChen.jpg")
WIDTH, HEIGHT, FPS = 1280, 720, 30
FACE_PX = 150  # the frontal faces' height in frame pixels
LEAD_S = 1.0  # empty scene before anyone appears
DRIFT_PX_PER_S = 24.0
STRANGER_SPOTS = {"strangers": (0.35, 0.65), "both": (0.62, 0.85)}  # across the frame, taking turns
FOCAL = 3.0  # camera distance / face height for the perspective warp: a head ~1 m from a normal lens
WALK_FROM, WALK_TO = 24, 220  # face px at the far and near end of a walk
# The head's pose over one turning cycle: (seconds, yaw degrees (+: to his right), pitch degrees
# (+: looking down)).
TURN_KEYS = ((0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (1.5, 50.0, 0.0), (2.5, 0.0, 0.0), (3.5, -50.0, 0.0),
             (4.5, 0.0, 0.0), (5.25, 0.0, 30.0), (6.0, 0.0, 0.0))
TURN_CYCLE_S = TURN_KEYS[-1][0]


@dataclass(frozen=True)
class Durations:
    """How long each part of the clips lasts: the full benchmark's, or --quick's."""

    turn_cycles: int = 3
    walks: int = 3
    walk_s: float = 5.0
    hold_s: float = 1.0  # the walker stands at the near end before leaving
    gap_s: float = 1.0  # empty scene between appearances
    stranger_s: float = 3.0


QUICK = Durations(turn_cycles=1, walks=1, walk_s=4.0, hold_s=1.0, gap_s=0.7, stranger_s=2.0)


@dataclass(frozen=True)
class Placement:
    """One face on one frame."""

    photo: str  # path inside the shared photos
    person: str | None  # who it is in the gallery; None: a stranger
    appearance: int  # which appearance this is (a new track each time); unique within the clip
    cx: float  # where the face box's centre is, frame pixels
    cy: float
    face_px: float  # the frontal face box's height before the turn
    yaw: float = 0.0  # degrees
    pitch: float = 0.0


@dataclass(frozen=True)
class LabelsClip:
    path: str
    kind: str
    frames: int
    durations: Durations
    fps: int = FPS
    width: int = WIDTH
    height: int = HEIGHT
    file_frames: int = 0  # frames in the file when the source loops it to make `frames` (0: played once)

    def file_frame(self, index: int) -> int:
        """Which frame of the file the clip's frame `index` shows."""
        return index % self.file_frames if self.file_frames else index

    def placements(self, index: int) -> list[Placement]:
        return placements(self.kind, index / self.fps, self.durations, self.width, self.height)

    def truth(self, index: int) -> list[tuple[Placement, Box]]:
        """Each face on frame `index` and its box (the frontal face box as the turn draws it)."""
        return [(p, turned_box(p)) for p in self.placements(index)]

    def appearances(self) -> dict[int, int]:
        """Each appearance → the first frame showing it."""
        first: dict[int, int] = {}
        for index in range(self.frames):
            for p in self.placements(index):
                first.setdefault(p.appearance, index)
        return first

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> LabelsClip:
        data = json.loads(text)
        data["durations"] = Durations(**data["durations"])
        return LabelsClip(**data)


def clip_seconds(kind: str, d: Durations) -> float:
    strangers = LEAD_S + len(STRANGER_PHOTOS) * (d.gap_s + d.stranger_s) + d.gap_s
    return {"turn": LEAD_S + d.turn_cycles * TURN_CYCLE_S,
            "walk": LEAD_S + d.walks * (d.walk_s + d.hold_s + d.gap_s),
            "strangers": strangers, "both": strangers}[kind]


def frame_count(kind: str, d: Durations, fps: int = FPS) -> int:
    return round(clip_seconds(kind, d) * fps)


def turn_pose(t: float) -> tuple[float, float]:
    """(yaw, pitch) in degrees, `t` seconds into a turning cycle: straight lines between TURN_KEYS."""
    t %= TURN_CYCLE_S
    for (t0, y0, p0), (t1, y1, p1) in itertools.pairwise(TURN_KEYS):
        if t0 <= t <= t1:
            a = (t - t0) / (t1 - t0)
            return y0 + a * (y1 - y0), p0 + a * (p1 - p0)
    return 0.0, 0.0


def walk_face_px(t: float, walk_s: float) -> float:
    """Face height `t` seconds into a walk: the face grows as 1/distance for a steady walk towards the camera."""
    a = min(max(t / walk_s, 0.0), 1.0)
    distance = 1.0 / WALK_FROM + a * (1.0 / WALK_TO - 1.0 / WALK_FROM)  # in 1/px: linear in the distance walked
    return 1.0 / distance


def placements(kind: str, t: float, d: Durations, width: int = WIDTH, height: int = HEIGHT) -> list[Placement]:
    """Every face on screen `t` seconds into a clip of `kind`."""
    if kind == FOOTAGE:
        # He is alone in the frame from the first frame on: the whole frame is his face's box.
        return [Placement("", KNOWN_PERSON, 0, width * 0.5, height * 0.5, float(height))]
    if t < LEAD_S or t >= clip_seconds(kind, d):
        return []
    t -= LEAD_S
    cy = height * 0.45
    if kind == "turn":
        yaw, pitch = turn_pose(t)
        return [Placement(KNOWN_PHOTO, KNOWN_PERSON, 0, width * 0.5, cy, FACE_PX, yaw, pitch)]
    if kind == "walk":
        period = d.walk_s + d.hold_s + d.gap_s
        walk, into = int(t // period), t % period
        if walk >= d.walks or into >= d.walk_s + d.hold_s:
            return []
        face = walk_face_px(into, d.walk_s)
        # Far away the face is higher in the frame (the horizon); near, lower.
        return [Placement(KNOWN_PHOTO, KNOWN_PERSON, walk, width * 0.5 - 80 + 0.6 * face, height * 0.3 + face * 0.6,
                          face)]
    out = []
    if kind == "both":
        out.append(Placement(KNOWN_PHOTO, KNOWN_PERSON, 0, width * 0.25 + DRIFT_PX_PER_S * (t % 4.0), cy, FACE_PX))
    period = d.gap_s + d.stranger_s
    which, into = int(t // period), t % period
    if which < len(STRANGER_PHOTOS) and into >= d.gap_s:
        # Each stranger stands where the previous one did not: a box the stream still draws for the one who left
        # must not count as the newcomer's label.
        across = STRANGER_SPOTS[kind][which % 2]
        cx = width * across + DRIFT_PX_PER_S * (into - d.gap_s)
        out.append(Placement(STRANGER_PHOTOS[which], None, 1 + which, cx, cy, FACE_PX))
    return out


def rotation(yaw: float, pitch: float) -> np.ndarray:
    """The head's rotation: yaw about the vertical axis, then pitch about the horizontal one (image axes: x right,
    y down, z away from the camera). Positive yaw brings the image's right side of the face nearer (he turns to his
    right); positive pitch brings the forehead nearer and the chin away (he looks down)."""
    y, p = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return rx @ ry


def project(points: np.ndarray, yaw: float, pitch: float, face_px: float) -> np.ndarray:
    """Points (N×2, pixels from the face centre, on the flat face) as the camera sees them after the turn."""
    focal = FOCAL * face_px
    xyz = np.column_stack([points, np.zeros(len(points))]) @ rotation(yaw, pitch).T
    scale = focal / (focal + xyz[:, 2])
    return xyz[:, :2] * scale[:, None]


def turned_box(p: Placement) -> Box:
    """The frontal face box of `p`, turned, as (top, right, bottom, left): the truth a drawn box is judged by."""
    half = p.face_px / 2
    corners = project(np.array([[-half, -half], [half, -half], [half, half], [-half, half]]), p.yaw, p.pitch,
                      p.face_px)
    xs, ys = corners[:, 0] + p.cx, corners[:, 1] + p.cy
    return (round(ys.min()), round(xs.max()), round(ys.max()), round(xs.min()))


# --- rendering -----------------------------------------------------------------------------------------------------

def make_labels_clip(shared: Path, out: Path, kind: str, durations: Durations) -> LabelsClip:
    from facedaemon.bench.range_clip import _encode, background

    clip = LabelsClip(str(out), kind, frame_count(kind, durations), durations)
    base = background(clip.width, clip.height)
    _encode(out, clip.width, clip.height, clip.fps, (_frame(clip, base, shared, i) for i in range(clip.frames)))
    return clip


@functools.cache
def _photo(path: Path) -> tuple[np.ndarray, Box]:
    """A photo (BGR) and its face box as dlib's HOG finds it (the box the face heights are measured by)."""
    from facedaemon.faces import engine

    rgb = engine.face_recognition_module().load_image_file(str(path))
    found = engine.detect(rgb, "hog", 1)
    if not found:
        raise RuntimeError(f"no face found in {path}")
    return np.ascontiguousarray(rgb[:, :, ::-1]), found[0]


@functools.lru_cache(maxsize=64)
def _head(path: Path, face_px: int) -> tuple[np.ndarray, int, int]:
    """The photo's head region scaled so its face box is `face_px` tall (bench/range_clip.head), reused while the
    size stays."""
    from facedaemon.bench.range_clip import head

    return head(*_photo(path), face_px)


def _frame(clip: LabelsClip, base: np.ndarray, shared: Path, index: int) -> np.ndarray:
    frame = base.copy()
    for p in clip.placements(index):
        _draw(frame, shared / p.photo, p)
    return frame


def _draw(frame: np.ndarray, photo: Path, p: Placement) -> None:
    """The photo's head, scaled so its face box is p.face_px tall, turned, with its face centre at (p.cx, p.cy)."""
    import cv2

    piece, dy, dx = _head(photo, max(1, round(p.face_px)))
    # Pixels of the piece relative to the face centre; the warp maps them to frame pixels.
    centre = np.array([dx + p.face_px / 2, dy + p.face_px / 2])
    h, w = piece.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    dst = project(src - centre, p.yaw, p.pitch, p.face_px) + np.array([p.cx, p.cy])
    # Warp into the frame region the turned piece covers only (a whole-frame warp per face per frame is slow).
    x0, y0 = max(0, math.floor(dst[:, 0].min())), max(0, math.floor(dst[:, 1].min()))
    x1, y1 = min(frame.shape[1], math.ceil(dst[:, 0].max())), min(frame.shape[0], math.ceil(dst[:, 1].max()))
    if x1 <= x0 or y1 <= y0:
        return
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), (dst - [x0, y0]).astype(np.float32))
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(piece, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size, flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    frame[y0:y1, x0:x1][mask] = warped[mask]
