"""What a design drew on each frame of a range clip, counted per face height. Pure: times and faces passed in.

Frames are counted once the faces have been on screen SETTLE_SECONDS (how often a standing person is named);
how long the name took to come is the separate first-appearance figure.

A drawn face belongs to a true face when its centre lies inside the true box grown by half its size each way.
For the known face: named right / named wrong / Unknown / neutral "face" / no box. For the stranger: named (as
anyone: wrong) / Unknown / "face" / no box. On the face-free clip every box is a false one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from facedaemon.bench.range_clip import RangeClip
from facedaemon.faces.types import FACE, UNKNOWN, Box, FaceResult

KINDS = ("right", "wrong", "unknown", "face", "none")
SETTLE_SECONDS = 1.0


@dataclass
class HeightCounts:
    known: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    stranger: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first_name: list[float] = field(default_factory=list)  # seconds, appearance → first frame naming the known face
    missed: int = 0  # appearances never named before the faces left


def inside(face: Box, truth: Box) -> bool:
    top, right, bottom, left = truth
    dy, dx = (bottom - top) / 2, (right - left) / 2
    cy, cx = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    return top - dy <= cy <= bottom + dy and left - dx <= cx <= right + dx


def kind(faces: Sequence[FaceResult], truth: Box, person: str | None) -> str:
    """How the true face at `truth` was drawn; `person` is who it is (None: a stranger)."""
    names = [f.name for f in faces if inside(f.box, truth)]
    if not names:
        return "none"
    if person is not None and person in names:
        return "right"
    if any(n not in (UNKNOWN, FACE) for n in names):
        return "wrong"
    return "unknown" if UNKNOWN in names else "face"


@dataclass
class RangeRecorder:
    clip: RangeClip
    person: str
    heights: dict[int, HeightCounts] = field(default_factory=dict)
    false_boxes: int = 0  # boxes on frames, or parts of frames, with no face
    frames_out: int = 0
    last_index: int = -1  # the last clip frame captured (a run lasts until the clip has been played once)
    _captured: dict[float, int] = field(default_factory=dict)
    _appeared: dict[int, float] = field(default_factory=dict)  # segment start → capture time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_capture(self, index: int, captured: float) -> None:
        with self._lock:
            self.last_index = max(self.last_index, index)
            if index >= self.clip.frames and self.clip.faces:
                return  # one pass only: the source loops (the face-free clip may loop for as long as it runs)
            self._captured[captured] = index
            while len(self._captured) > 256:
                del self._captured[next(iter(self._captured))]
            seg = self.clip.segment(index)
            if seg is not None and index == seg.start:
                self._appeared[seg.start] = captured

    def on_output(self, captured: float, written: float, names: Sequence[str],
                  faces: Sequence[FaceResult] = ()) -> None:
        with self._lock:
            index = self._captured.pop(captured, None)
            if index is None:
                return
            self.frames_out += 1
            truth = self.clip.truth(index)
            if truth is None:
                self.false_boxes += len(faces)
                return
            seg, known, stranger = truth
            counts = self.heights.setdefault(seg.height, HeightCounts())
            got = kind(faces, known, self.person)
            if index - seg.start >= SETTLE_SECONDS * self.clip.fps:
                counts.known[got] += 1
                counts.stranger[kind(faces, stranger, None) if self.clip.strangers else "none"] += 1
            self.false_boxes += sum(1 for f in faces if not inside(f.box, known)
                                    and not (self.clip.strangers and inside(f.box, stranger)))
            appeared = self._appeared.get(seg.start)
            if got == "right" and appeared is not None:
                counts.first_name.append(written - appeared)
                del self._appeared[seg.start]

    def finish(self) -> None:
        """Appearances that were never named count as missed."""
        with self._lock:
            for start in self._appeared:
                seg = self.clip.segment(start)
                if seg is not None:
                    self.heights.setdefault(seg.height, HeightCounts()).missed += 1
            self._appeared.clear()

    def figures(self) -> dict:
        rows = {}
        for face_px, counts in sorted(self.heights.items()):
            rows[str(face_px)] = {
                "known": percentages(counts.known), "stranger": percentages(counts.stranger),
                "first_name_ms": [round(v * 1000.0) for v in counts.first_name], "missed": counts.missed,
            }
        return {"heights": rows, "false_boxes": self.false_boxes, "frames_out": self.frames_out}


def percentages(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(100.0 * v / total, 1) if total else float("nan") for k, v in counts.items()} | {"frames": total}
