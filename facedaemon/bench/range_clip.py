"""Clips for `facedaemon bench --range`: a known face and a stranger's face, side by side, at one height after
another, drifting slowly over a textured background; and a clip with no face. Ground truth comes from the same
geometry that renders the frames (RangeClip.truth), so nothing is guessed afterwards.

A face's height is the height of the box dlib's HOG detector draws around it in the photo, scaled: the figure
the issue's raw-face_recognition measurements use.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facedaemon.children.ffmpeg import find_ffmpeg
from facedaemon.faces.types import Box

KNOWN_PHOTO, STRANGER_PHOTO = "obama.jpg", "biden.jpg"  # gallery: obama2.jpg and obama3.jpg (other photos)
DRIFT_PX_PER_S = 24.0  # the faces move like someone standing and shifting, so the picture changes
HEAD_MARGIN = 0.9  # the pasted crop: the face box grown by this × its size each side (hair, neck, shoulders)


@dataclass(frozen=True)
class Segment:
    height: int  # face height in frame pixels
    start: int  # first frame showing the faces
    end: int  # first frame after them


@dataclass(frozen=True)
class RangeClip:
    path: str
    width: int
    height: int
    fps: int
    frames: int
    segments: tuple[Segment, ...]
    faces: bool = True  # False: the face-free clip
    strangers: bool = True  # False: the known face alone

    def segment(self, index: int) -> Segment | None:
        index %= self.frames
        for seg in self.segments:
            if seg.start <= index < seg.end:
                return seg
        return None

    def truth(self, index: int) -> tuple[Segment, Box, Box] | None:
        """The segment on screen at frame `index` and where the known and the stranger's faces are."""
        seg = self.segment(index)
        if seg is None or not self.faces:
            return None
        shift = round(DRIFT_PX_PER_S * ((index % self.frames) - seg.start) / self.fps)
        return seg, self._box(0.3, seg.height, shift), self._box(0.7, seg.height, shift)

    def _box(self, across: float, face: int, shift: int) -> Box:
        cx, cy = round(self.width * across) + shift, round(self.height * 0.45)
        half = face // 2
        return (cy - half, cx - half + face, cy - half + face, cx - half)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> RangeClip:
        data = json.loads(text)
        data["segments"] = tuple(Segment(**seg) for seg in data["segments"])
        return RangeClip(**data)


def schedule(heights: list[int], fps: int, show_s: float, gap_s: float) -> tuple[tuple[Segment, ...], int]:
    """Segments of `show_s` seconds, each after a `gap_s` empty gap (a new appearance each time)."""
    segments, frame = [], 0
    for face in heights:
        start = frame + round(gap_s * fps)
        end = start + round(show_s * fps)
        segments.append(Segment(face, start, end))
        frame = end
    return tuple(segments), frame + round(gap_s * fps)


def background(width: int, height: int, seed: int = 7) -> np.ndarray:
    """Smooth random texture (walls, furniture-like blobs): harder for a detector than flat grey, and no faces."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 200, size=(9, 16, 3), dtype=np.uint8)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(0, 24, size=(height // 4, width // 4, 3), dtype=np.uint8)
    return cv2.add(image, cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR))


def head(photo: np.ndarray, face_box: Box, face_px: int) -> tuple[np.ndarray, int, int]:
    """The photo's head region scaled so the face box is `face_px` tall; with the face box's offset inside it."""
    import cv2

    top, right, bottom, left = face_box
    size = bottom - top
    m = round(size * HEAD_MARGIN)
    t, lft = max(0, top - m), max(0, left - m)
    crop = photo[t:min(photo.shape[0], bottom + m), lft:min(photo.shape[1], right + m)]
    scale = face_px / size
    scaled = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return scaled, round((top - t) * scale), round((left - lft) * scale)


def paste(frame: np.ndarray, piece: np.ndarray, top: int, left: int) -> None:
    height, width = frame.shape[:2]
    t, lft = max(0, top), max(0, left)
    b, r = min(height, top + piece.shape[0]), min(width, left + piece.shape[1])
    if b > t and r > lft:
        frame[t:b, lft:r] = piece[t - top:b - top, lft - left:r - left]


def make_range_clip(shared: Path, out: Path, width: int, height: int, heights: list[int], *, fps: int = 30,
                    show_s: float = 4.0, gap_s: float = 1.0, faces: bool = True,
                    strangers: bool = True) -> RangeClip:
    from facedaemon.faces import engine

    fr = engine.face_recognition_module()
    photos = {}
    for photo in (KNOWN_PHOTO, STRANGER_PHOTO):
        rgb = fr.load_image_file(str(shared / "images" / photo))
        photos[photo] = (np.ascontiguousarray(rgb[:, :, ::-1]), engine.detect(rgb, "hog", 1)[0])
    segments, frames = schedule(heights, fps, show_s, gap_s)
    clip = RangeClip(str(out), width, height, fps, frames, segments, faces, strangers)
    base = background(width, height)
    heads = {(p, s.height): head(img, box, s.height) for p, (img, box) in photos.items() for s in segments
             if faces}
    _encode(out, width, height, fps, (_frame(clip, base, heads, i) for i in range(frames)))
    return clip


def _frame(clip: RangeClip, base: np.ndarray, heads: dict, index: int) -> np.ndarray:
    frame = base.copy()
    # A moving block in every clip: motion that is not a face (the face-free clip would be a still otherwise).
    x = round((index * 9) % (clip.width - 120))
    frame[clip.height - 160:clip.height - 60, x:x + 100] = (30, 140, 200)
    truth = clip.truth(index)
    if truth is not None:
        seg, known, stranger = truth
        for photo, box in ((KNOWN_PHOTO, known), (STRANGER_PHOTO, stranger))[:2 if clip.strangers else 1]:
            piece, dy, dx = heads[(photo, seg.height)]
            paste(frame, piece, box[0] - dy, box[3] - dx)
    return frame


def _encode(out: Path, width: int, height: int, fps: int, frames) -> None:
    cmd = [find_ffmpeg(None), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "ultrafast",
           "-crf", "20", "-g", str(fps), "-pix_fmt", "yuv420p", str(out)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        try:
            for frame in frames:
                proc.stdin.write(frame.tobytes())
        finally:
            proc.stdin.close()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {out} (exit {proc.returncode})")


def seconds(clip: RangeClip) -> float:
    return clip.frames / clip.fps


def ceil_seconds(clip: RangeClip) -> int:
    return math.ceil(seconds(clip))
