"""Result types the recognition worker hands to the camera pipeline, status file and web API."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "Unknown"
FACE = "face"  # a face too small to identify: neither a name nor "Unknown" (a family member far away is no stranger)


def is_person(name: str) -> bool:
    """A name of someone in the gallery (not Unknown, not the neutral "face")."""
    return name not in (UNKNOWN, FACE)

Box = tuple[int, int, int, int]  # (top, right, bottom, left), face_recognition's order


@dataclass(frozen=True, slots=True)
class FaceResult:
    name: str  # person name, UNKNOWN, or FACE (too small to tell)
    confidence: float  # 0..1 from distance_to_confidence; for UNKNOWN computed from the best distance
    distance: float | None  # best distance to that person's encodings; None if the gallery is empty
    box: Box  # full-frame pixels
    track: int  # tracker id, stable while the face is tracked
    not_judged: str | None = None  # why the newest look at this face could not be judged (quality.not_judgeable)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "confidence": round(float(self.confidence), 4),
            "distance": None if self.distance is None else round(float(self.distance), 4),
            "box": [int(v) for v in self.box],
            "track": int(self.track),
        }


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    camera: str
    frame_time: float  # time.time() of the captured frame this result is for
    faces: tuple[FaceResult, ...]
    inference_seconds: float  # wall time the worker spent on this frame
    encoded: int  # faces encoded this round (0 when every track was reused)
