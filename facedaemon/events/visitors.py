"""Unknown visitors: when a face the worker labels "Unknown" becomes an event. Pure: no I/O, no clock of its own.

The worker decides the label per track (a track becomes "Unknown" only from faces it could judge; one it could not
judge shows the neutral "face"). This module only decides which of those label changes are worth a message:

- only on cameras that opted in (events.unknown_visitors);
- only the "Unknown" label starts or confirms a visitor: "face" never does, and a name cancels;
- a face must read "Unknown" on results at least `confirm` seconds apart, so a track that is still being recognised
  and turns into a name within that time sends nothing. A new track that reads "Unknown" while such a track is gone
  from the frame (seen less than `grace` ago) carries on its time: the worker lost the face and found it again
  before it was announced;
- one event per visitor. A visitor is a track, or a chain of tracks: a track never seen before that reads "Unknown"
  or "face" while an announced visitor's track is missing from the frame, and that visitor was seen less than
  `grace` ago, continues that visitor (the worker lost the face and found it again). Two tracks of one visitor on
  one frame are two faces: the newer is released and may become a visitor of its own;
- a visitor unseen for more than `grace`, and missing from two results in a row, has left ("left", without a
  picture); the same stranger back later is a new visitor with a new event.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from facedaemon.events.event import LEFT, RECOGNISED, Event
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult, is_person

CONFIRM = 1.0  # seconds a track must keep reading "Unknown" before it is announced
# Results in a row without a visitor that, past the grace period, make it gone: results can come seconds apart on a
# loaded machine, and one missed detection must neither end a visit nor let the same face be announced again.
MISSES = 2


@dataclass(slots=True)
class _Visitor:
    first: int  # the track it was announced with
    track: int  # the track that carries the visitor now
    confidence: float
    last_seen: float
    misses: int = 0  # results of the camera in a row without it


@dataclass(slots=True)
class _Camera:
    # every other track seen: track -> (first read "Unknown", or None while only "face"; last seen)
    pending: dict[int, tuple[float | None, float]] = field(default_factory=dict)
    visitors: dict[int, _Visitor] = field(default_factory=dict)  # a number of this camera's -> visitor
    owner: dict[int, int] = field(default_factory=dict)  # any track of a visitor -> its key in `visitors`
    done: dict[int, float] = field(default_factory=dict)  # tracks that were part of a visitor -> last seen


class UnknownVisitors:
    def __init__(self, cameras: Iterable[str], *, grace: float = 2.0, confirm: float = CONFIRM) -> None:
        self.cameras = frozenset(cameras)
        self.grace = grace
        self.confirm = confirm
        self._state: dict[str, _Camera] = {}
        self._keys = itertools.count()

    def update(self, camera: str, now: float, faces: Iterable[FaceResult]) -> list[Event]:
        """Events caused by one result of `camera` (results of one camera arrive in frame order)."""
        if camera not in self.cameras:
            return []
        state = self._state.setdefault(camera, _Camera())
        faces = tuple(faces)
        on_frame = {face.track for face in faces}
        self._split(state, on_frame, now)
        events = []
        for face in faces:
            if face.track in state.done:
                state.done[face.track] = now
            if is_person(face.name):  # named: no visitor starts; a visitor's track named does not keep it here
                state.pending.pop(face.track, None)
            elif face.track in state.owner or self._continues(state, face.track, on_frame, now):
                visitor = state.visitors[state.owner[face.track]]
                visitor.track, visitor.last_seen = face.track, max(visitor.last_seen, now)
                if face.name == UNKNOWN:
                    visitor.confidence = face.confidence
            elif face.name in (UNKNOWN, FACE) and face.track not in state.done:  # never twice for one track
                first, _ = state.pending.get(face.track) or self._inherit(state, face, on_frame, now)
                if face.name == UNKNOWN and first is None:
                    first = now
                state.pending[face.track] = (first, now)
                if face.name == UNKNOWN and now - first >= self.confirm:  # "face" never confirms
                    events.append(self._announce(camera, state, face, now))
        for visitor in state.visitors.values():
            visitor.misses = 0 if visitor.last_seen >= now else visitor.misses + 1
        return events + self._expire(camera, now, self.grace, MISSES)

    def expire(self, now: float, margin: float = 0.0) -> list[Event]:
        """'left' for visitors of cameras whose results stopped coming (`margin`: allow for a slow worker)."""
        events: list[Event] = []
        for camera in list(self._state):
            events += self._expire(camera, now, self.grace + margin, misses=0)
        return events

    def present(self, camera: str) -> int:
        """Announced visitors on the camera now."""
        state = self._state.get(camera)
        return len(state.visitors) if state is not None else 0

    def _continues(self, state: _Camera, track: int, on_frame: set[int], now: float) -> bool:
        """Whether a track never seen before takes over a visitor whose own track is gone (and binds it)."""
        if track in state.pending:
            return False
        lost = [(visitor.last_seen, key) for key, visitor in state.visitors.items()
                if visitor.track not in on_frame and now - visitor.last_seen <= self.grace]
        if not lost:
            return False
        state.owner[track] = max(lost)[1]
        state.done[track] = now
        return True

    def _inherit(self, state: _Camera, face: FaceResult, on_frame: set[int], now: float) -> tuple[float | None, float]:
        """A new track reading "Unknown" while a track that read "Unknown" (not yet announced) is gone from the frame,
        seen less than `grace` ago, carries on its second: the worker lost and found the same face."""
        if face.name != UNKNOWN:
            return None, now
        lost = [(seen, track) for track, (first, seen) in state.pending.items()
                if first is not None and track not in on_frame and now - seen <= self.grace]
        if not lost:
            return None, now
        return state.pending.pop(max(lost)[1])

    @staticmethod
    def _split(state: _Camera, on_frame: set[int], now: float) -> None:
        """Tracks of one visitor together on one frame are two faces: the visitor keeps the track it was announced
        with (else the oldest); the others are released (seen, not yet "Unknown": they start their own second)."""
        carriers: dict[int, list[int]] = {}
        for track in sorted(on_frame):
            if track in state.owner:
                carriers.setdefault(state.owner[track], []).append(track)
        for key, tracks in carriers.items():
            visitor = state.visitors[key]
            keep = visitor.first if visitor.first in tracks else tracks[0]
            visitor.track = keep
            for track in tracks:
                if track != keep:
                    del state.owner[track]
                    state.done.pop(track, None)
                    state.pending[track] = (None, now)

    def _announce(self, camera: str, state: _Camera, face: FaceResult, now: float) -> Event:
        del state.pending[face.track]
        key = next(self._keys)
        state.visitors[key] = _Visitor(face.track, face.track, face.confidence, now)
        state.owner[face.track] = key
        state.done[face.track] = now
        return Event(RECOGNISED, camera, UNKNOWN, face.confidence, face.track, now)

    def _expire(self, camera: str, now: float, grace: float, misses: int) -> list[Event]:
        state = self._state.get(camera)
        if state is None:
            return []
        state.pending = {track: seen for track, seen in state.pending.items() if now - seen[1] <= grace}
        state.done = {track: seen for track, seen in state.done.items() if now - seen <= grace}
        gone = [key for key, visitor in state.visitors.items()
                if now - visitor.last_seen > grace and visitor.misses >= misses]
        events = []
        for key in gone:
            visitor = state.visitors.pop(key)
            state.owner = {track: owner for track, owner in state.owner.items() if owner != key}
            events.append(Event(LEFT, camera, UNKNOWN, visitor.confidence, visitor.track, visitor.last_seen))
        return events
