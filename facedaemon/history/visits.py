"""Recognition results → visits: pure, no I/O, no clock of its own (the caller passes wall and monotonic time).

A visit is one person (or one unknown track) on one camera, from the first frame that showed them to the last.
A person seen again on the same camera within `grace` (a new track: the face was lost and found, or they stepped out
and back) continues the same visit. Durations come from the monotonic clock: a visit's last_seen is its first_seen
(wall, UTC) plus the monotonic time between, so a clock stepped by NTP on a Pi without a battery never makes a
negative visit. Strangers cannot be told apart here: a stranger's visit is a chain of tracks (a new Unknown track
while the visit's tracks are all gone from the frame, seen less than UNKNOWN_GONE ago, continues it: the worker lost
the face and found it again), recorded once it has read Unknown for CONFIRM seconds; if its track is named after
all, the stranger's visit is withdrawn.

The tracker answers with operations for the writer: Upsert(row) while a visit goes on (at most every FLUSH seconds,
so a crash loses at most that much) and when it ends, Delete(uid) for a withdrawn one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from facedaemon.faces.types import UNKNOWN, is_person

CONFIRM = 1.0  # seconds a track reads Unknown before it is a stranger's visit (a first borderline vote is corrected)
FLUSH = 0.5  # seconds between writes of one ongoing visit
UNKNOWN_GONE = 2.0  # a stranger's visit unseen this long has ended (as events/visitors.py's grace)


@dataclass(frozen=True, slots=True)
class Seen:
    """One face of one result: its label, track and confidence."""

    name: str
    track: int
    confidence: float


@dataclass(frozen=True, slots=True)
class Thumb:
    """A small JPEG of a track's best shot (history/shots.py), with the shot's score."""

    camera: str
    track: int
    score: float
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class VisitRow:
    uid: str
    person: str | None  # None: a stranger
    camera: str
    device: str
    first_seen: float  # Unix time, UTC
    last_seen: float
    quality: float | None  # the best shot's score, None before any shot
    confidence: float
    thumb: bytes | None


@dataclass(frozen=True, slots=True)
class Upsert:
    row: VisitRow


@dataclass(frozen=True, slots=True)
class Delete:
    uid: str


Op = Upsert | Delete


@dataclass(slots=True)
class _Open:
    uid: str
    camera: str
    person: str | None
    tracks: set[int]
    first_wall: float
    first_mono: float
    last_mono: float
    confidence: float
    quality: float | None = None
    thumb: bytes | None = None
    written: float | None = None  # monotonic time of the last Upsert; None: not written yet
    changed: bool = True

    def row(self, device: str) -> VisitRow:
        last = self.first_wall + max(0.0, self.last_mono - self.first_mono)
        return VisitRow(self.uid, self.person, self.camera, device, self.first_wall, last, self.quality,
                        self.confidence, self.thumb)

    @property
    def confirmed(self) -> bool:
        return self.person is not None or self.last_mono - self.first_mono >= CONFIRM


@dataclass
class VisitTracker:
    device: str
    grace: float = 60.0
    run: str = "0"  # unique per daemon run: visit ids never collide across restarts
    _open: dict[tuple[str, str], _Open] = field(default_factory=dict)  # (camera, person or "#<visit uid>")
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def see(self, camera: str, faces: Iterable[Seen], wall: float, mono: float) -> list[Op]:
        """One result of `camera`: its frame's wall time and the monotonic time it arrived."""
        ops: list[Op] = []
        faces = list(faces)
        on_frame = {face.track for face in faces}
        for face in faces:
            if face.name == UNKNOWN:
                key = self._stranger(camera, face.track, on_frame, mono)
                person = None
            elif is_person(face.name):
                ops += self._withdraw(camera, face.track)
                key, person = (camera, face.name), face.name
            else:
                continue  # the neutral "face": too small to tell, no visit
            visit = self._open.get(key)
            if visit is None:
                uid = f"{self.run}-{next(self._ids)}"
                visit = _Open(uid, camera, person, set(), wall, mono, mono, face.confidence)
                key = key if person is not None else (camera, f"#{uid}")
                self._open[key] = visit
            visit.tracks.add(face.track)
            visit.last_mono = max(visit.last_mono, mono)
            visit.confidence = max(visit.confidence, face.confidence)
            visit.changed = True
        return ops + self._flush(mono) + self._close(mono, camera)

    def shot(self, thumb: Thumb) -> None:
        """A better picture of a track: kept on that track's visit when it beats the visit's best."""
        for visit in self._open.values():
            if visit.camera == thumb.camera and thumb.track in visit.tracks:
                if visit.quality is None or thumb.score > visit.quality:
                    visit.quality, visit.thumb, visit.changed = thumb.score, thumb.jpeg, True
                return

    def expire(self, mono: float) -> list[Op]:
        """Close the visits of every camera whose results stopped (camera down); flush the others."""
        return self._flush(mono) + self._close(mono, None)

    def close_all(self) -> list[Op]:
        """The daemon stops: every visit ends where it was last seen."""
        ops = [Upsert(v.row(self.device)) for v in self._open.values() if v.confirmed]
        self._open.clear()
        return ops

    def forget(self, people: set[str]) -> None:
        for key in [k for k, v in self._open.items() if v.person in people]:
            del self._open[key]

    def open_count(self) -> int:
        return len(self._open)

    def people(self) -> set[str]:
        """People with a visit going on."""
        return {v.person for v in self._open.values() if v.person is not None}

    def _stranger(self, camera: str, track: int, on_frame: set[int], mono: float) -> tuple[str, str]:
        """The open stranger's visit this Unknown track belongs to or continues; a new key if none."""
        lost = None
        for key, visit in self._open.items():
            if visit.camera != camera or visit.person is not None:
                continue
            if track in visit.tracks:
                return key
            if not visit.tracks & on_frame and mono - visit.last_mono <= UNKNOWN_GONE:
                lost = key
        return lost if lost is not None else (camera, "#new")

    def _withdraw(self, camera: str, track: int) -> list[Op]:
        """A track now named: the stranger's visit it made is withdrawn, if that track was its only one."""
        for key, visit in list(self._open.items()):
            if visit.camera == camera and visit.person is None and track in visit.tracks:
                visit.tracks.discard(track)
                if visit.tracks:
                    return []
                del self._open[key]
                return [Delete(visit.uid)] if visit.written is not None else []
        return []

    def _flush(self, mono: float) -> list[Op]:
        ops: list[Op] = []
        for visit in self._open.values():
            due = visit.written is None or mono - visit.written >= FLUSH
            if visit.changed and due and visit.confirmed:
                ops.append(Upsert(visit.row(self.device)))
                visit.written, visit.changed = mono, False
        return ops

    def _close(self, mono: float, camera: str | None) -> list[Op]:
        ops: list[Op] = []
        for key, visit in list(self._open.items()):
            if camera is not None and visit.camera != camera:
                continue
            gone = self.grace if visit.person is not None else min(self.grace, UNKNOWN_GONE)
            if mono - visit.last_mono > gone:
                del self._open[key]
                if visit.confirmed and (visit.changed or visit.written is None):
                    ops.append(Upsert(visit.row(self.device)))
        return ops
