"""Turn successive recognition results into 'recognised' / 'left' events: pure, no I/O, no clock of its own.

A known person is present on a camera while any track carries their name; a new track for someone already present
(the worker lost and found the face again) is not a new arrival, and a gap shorter than the grace period is not a
departure. Nor is one missed result: a departure needs two results in a row without the person (on a loaded or small
machine a camera's results can come seconds apart, and one missed detection there is not someone leaving). Unknown
visitors, on the cameras that opted in, follow their own rule (events/visitors.py); the neutral "face" never makes
an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from facedaemon.events.event import LEFT, RECOGNISED, Event
from facedaemon.events.visitors import CONFIRM, UnknownVisitors
from facedaemon.faces.types import UNKNOWN, RecognitionResult, is_person

__all__ = ["LEFT", "RECOGNISED", "STALE_MARGIN", "Event", "PresenceTracker"]

STALE_MARGIN = 5.0  # expire() without results: also allow for a slow worker before calling someone gone
MISSES = 2  # results in a row without a person that, past the grace period, make a departure


@dataclass(slots=True)
class _Presence:
    name: str
    track: int
    confidence: float
    last_seen: float
    misses: int = 0  # results of the camera in a row without them


class PresenceTracker:
    def __init__(self, *, grace: float = 2.0, unknown_cameras: Iterable[str] = (),
                 unknown_after: float = CONFIRM) -> None:
        self.grace = grace
        self.unknowns = UnknownVisitors(unknown_cameras, grace=grace, confirm=unknown_after)
        self._cameras: dict[str, dict[str, _Presence]] = {}

    def update(self, result: RecognitionResult) -> list[Event]:
        """Events caused by one result (results of one camera arrive in frame order)."""
        now = result.frame_time
        present = self._cameras.setdefault(result.camera, {})
        events: list[Event] = []
        for face in result.faces:
            if not is_person(face.name):  # Unknown: events/visitors.py; "face": never an event
                continue
            seen = present.get(face.name)
            if seen is None:
                present[face.name] = _Presence(face.name, face.track, face.confidence, now)
                events.append(Event(RECOGNISED, result.camera, face.name, face.confidence, face.track, now))
            else:
                seen.track, seen.confidence, seen.last_seen = face.track, face.confidence, max(seen.last_seen, now)
        for seen in present.values():
            seen.misses = 0 if seen.last_seen >= now else seen.misses + 1
        events += self.unknowns.update(result.camera, now, result.faces)
        events += self._expire(result.camera, now, self.grace, MISSES)
        return events

    def expire(self, now: float) -> list[Event]:
        """'left' for people of cameras whose results stopped coming (camera down, worker restarting)."""
        events: list[Event] = []
        for camera in list(self._cameras):
            events += self._expire(camera, now, self.grace + STALE_MARGIN, misses=0)
        return events + self.unknowns.expire(now, STALE_MARGIN)

    def forget(self, names: set[str]) -> None:
        """People who left the gallery: gone from every camera at once, without a 'left' event naming them."""
        for present in self._cameras.values():
            for name in names & present.keys():
                del present[name]

    def present(self, camera: str) -> list[str]:
        names = sorted(self._cameras.get(camera, {}))
        return names + [UNKNOWN] * self.unknowns.present(camera)

    def _expire(self, camera: str, now: float, grace: float, misses: int) -> list[Event]:
        present = self._cameras.get(camera, {})
        events = []
        for name in [name for name, seen in present.items()
                     if now - seen.last_seen > grace and seen.misses >= misses]:
            seen = present.pop(name)
            events.append(Event(LEFT, camera, seen.name, seen.confidence, seen.track, seen.last_seen))
        return events
