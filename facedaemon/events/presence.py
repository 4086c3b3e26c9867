"""Turn successive recognition results into 'recognised' / 'left' events: pure, no I/O, no clock of its own.

A known person is present on a camera while any track carries their name; a new track for someone already present
(the worker lost and found the face again) is not a new arrival, and a gap shorter than the grace period is not a
departure. Unknown faces (only when asked for) are followed per track and reported only after they stayed unknown
for a moment, so a face that is still being recognised does not first arrive as "Unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from facedaemon.faces.types import FACE, UNKNOWN, RecognitionResult, is_person

RECOGNISED = "recognised"
LEFT = "left"
UNKNOWN_AFTER = 1.0  # seconds a track must stay unknown before it is reported as "Unknown"
STALE_MARGIN = 5.0  # expire() without results: also allow for a slow worker before calling someone gone

Key = str | tuple[str, int]  # a known name, or (UNKNOWN, track)


@dataclass(frozen=True, slots=True)
class Event:
    kind: Literal["recognised", "left"]
    camera: str
    name: str
    confidence: float
    track: int
    time: float  # unix time: the frame that showed the arrival, or the last frame that showed the person
    snapshot: str | None = None  # URL of the arrival's picture (events.snapshots), set by the hub

    def to_json(self) -> dict:
        body = {"event": self.kind, "camera": self.camera, "name": self.name,
                "confidence": round(float(self.confidence), 4), "track": int(self.track),
                "time": round(float(self.time), 3)}
        return body if self.snapshot is None else {**body, "snapshot": self.snapshot}


@dataclass(slots=True)
class _Presence:
    name: str
    track: int
    confidence: float
    first_seen: float
    last_seen: float
    announced: bool = False


class PresenceTracker:
    def __init__(self, *, grace: float = 2.0, include_unknown: bool = False,
                 unknown_after: float = UNKNOWN_AFTER) -> None:
        self.grace = grace
        self.include_unknown = include_unknown
        self.unknown_after = unknown_after
        self._cameras: dict[str, dict[Key, _Presence]] = {}

    def update(self, result: RecognitionResult) -> list[Event]:
        """Events caused by one result (results of one camera arrive in frame order)."""
        now = result.frame_time
        present = self._cameras.setdefault(result.camera, {})
        events: list[Event] = []
        for face in result.faces:
            known = is_person(face.name)
            if face.name == FACE or (not known and not self.include_unknown):  # too small to tell: no event
                continue
            key: Key = face.name if known else (UNKNOWN, face.track)
            seen = present.get(key)
            if seen is None:
                seen = present[key] = _Presence(face.name, face.track, face.confidence, now, now)
            else:
                seen.track, seen.confidence, seen.last_seen = face.track, face.confidence, max(seen.last_seen, now)
            if not seen.announced and (known or now - seen.first_seen >= self.unknown_after):
                seen.announced = True
                events.append(Event(RECOGNISED, result.camera, seen.name, seen.confidence, seen.track, now))
        events += self._expire(result.camera, now, self.grace)
        return events

    def expire(self, now: float) -> list[Event]:
        """'left' for people of cameras whose results stopped coming (camera down, worker restarting)."""
        events: list[Event] = []
        for camera in list(self._cameras):
            events += self._expire(camera, now, self.grace + STALE_MARGIN)
        return events

    def forget(self, names: set[str]) -> None:
        """People who left the gallery: gone from every camera at once, without a 'left' event naming them."""
        for present in self._cameras.values():
            for key in [key for key, seen in present.items() if seen.name in names]:
                del present[key]

    def present(self, camera: str) -> list[str]:
        return sorted(p.name for p in self._cameras.get(camera, {}).values() if p.announced)

    def _expire(self, camera: str, now: float, grace: float) -> list[Event]:
        present = self._cameras.get(camera, {})
        gone = [key for key, seen in present.items() if now - seen.last_seen > grace]
        events = []
        for key in gone:
            seen = present.pop(key)
            if seen.announced:
                events.append(Event(LEFT, camera, seen.name, seen.confidence, seen.track, seen.last_seen))
        return events
