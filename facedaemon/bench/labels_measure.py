"""What a design drew on each frame of a labels clip. Pure: frames, times and faces are passed in.

Every output frame is a sample of every face on screen on it. A drawn face belongs to a true face when its centre
lies inside the true box grown by half its size each way (bench/range_measure.py's rule). Each sample is one of
"right" (the known person's name), "wrong" (any other name; for a stranger: any name), "unknown", "face" (the
neutral box), "none" (no box: not detected yet, or not found).

Per run and per role (the known person, strangers): those counts; per appearance, the time from the first frame
showing it to the first output frame labelling it as it should be (the known person: his name; a stranger:
Unknown); which tracks were ever drawn Unknown on the known person (each could have become an "unknown person"
event about him); and the unknown-visitor events the daemon's own rule (events/visitors.py UnknownVisitors, every
camera opted in) sends from what was drawn, per role. For the known person's samples drawn Unknown or neutral "face",
the first few of each are kept with the clip frame, the time since he appeared, distance and `not_judged` (why that
look could not be judged), and every such sample's reason is counted: to find out why.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from facedaemon.bench.labels_clip import LabelsClip
from facedaemon.bench.range_measure import inside, kind
from facedaemon.events.event import RECOGNISED
from facedaemon.events.visitors import UnknownVisitors
from facedaemon.faces.types import UNKNOWN, FaceResult

KINDS = ("right", "wrong", "unknown", "face", "none")
ROLES = ("known", "stranger")
CAMERA = "cam1"
KEEP_LOOKS = 20  # of each label not his name, on the known person, kept for the report


def wanted(person: str | None) -> str:
    """The kind of sample that counts as "labelled as it should be": the name, or Unknown for a stranger."""
    return "right" if person is not None else "unknown"


@dataclass
class LabelsRecorder:
    clip: LabelsClip
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {r: dict.fromkeys(KINDS, 0) for r in ROLES})
    first_ms: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROLES})
    missed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    unknown_tracks: dict[str, set[int]] = field(default_factory=lambda: {r: set() for r in ROLES})
    unknown_events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    # The samples from the one on which the face was first labelled as it should be: the labels once a looping clip
    # has settled, apart from how long the first label took.
    settled: dict[str, dict[str, int]] = field(default_factory=lambda: {r: dict.fromkeys(KINDS, 0) for r in ROLES})
    tracks: dict[str, set[int]] = field(default_factory=lambda: {r: set() for r in ROLES})  # drawn on each role
    looks: list[dict] = field(default_factory=list)  # the known person's first samples drawn Unknown or "face"
    reasons: dict[str, int] = field(default_factory=dict)  # "<label>: <why not judged>" -> his samples drawn so
    frames_out: int = 0
    last_index: int = -1  # the last clip frame captured (a run lasts until the clip has been played once)
    _captured: dict[float, int] = field(default_factory=dict)
    _first_frames: dict[int, int] = field(default_factory=dict)  # appearance → its first frame
    _appeared: dict[int, float] = field(default_factory=dict)  # appearance → capture time of its first frame
    _done: set[int] = field(default_factory=set)  # appearances already labelled as they should be
    _visitors: UnknownVisitors = field(default_factory=lambda: UnknownVisitors([CAMERA]))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._first_frames = self.clip.appearances()

    def on_capture(self, index: int, captured: float) -> None:
        with self._lock:
            self.last_index = max(self.last_index, index)
            if index >= self.clip.frames:
                return  # one pass only: the source loops
            self._captured[captured] = index
            while len(self._captured) > 256:
                del self._captured[next(iter(self._captured))]
            for appearance, first in self._first_frames.items():
                if first == index:
                    self._appeared[appearance] = captured

    def on_output(self, captured: float, written: float, names: Sequence[str],
                  faces: Sequence[FaceResult] = ()) -> None:
        del names  # the faces carry them
        with self._lock:
            index = self._captured.pop(captured, None)
            if index is None:
                return
            self.frames_out += 1
            announced = {e.track for e in self._visitors.update(CAMERA, written, faces) if e.kind == RECOGNISED}
            for placement, box in self.clip.truth(index):
                role = "known" if placement.person is not None else "stranger"
                got = kind(faces, box, placement.person)
                self.counts[role][got] += 1
                here = [f for f in faces if inside(f.box, box)]
                self.unknown_tracks[role].update(f.track for f in here if f.name == UNKNOWN)
                self.unknown_events[role] += len(announced & {f.track for f in here})
                announced -= {f.track for f in here}
                self.tracks[role].update(f.track for f in here)
                if role == "known" and got in ("unknown", "face"):
                    self._odd_look(index, here, written - self._appeared.get(placement.appearance, written),
                                   placement.appearance in self._done)
                appeared = self._appeared.get(placement.appearance)
                if got == wanted(placement.person) and appeared is not None \
                        and placement.appearance not in self._done:
                    self._done.add(placement.appearance)
                    self.first_ms[role].append(1000.0 * (written - appeared))
                if placement.appearance in self._done:
                    self.settled[role][got] += 1

    def _odd_look(self, index: int, here: list[FaceResult], since: float, named_before: bool) -> None:
        for f in here:
            label = "unknown" if f.name == UNKNOWN else "face"
            why = (f.not_judged or "judged").split(" (")[0]
            self.reasons[f"{label}: {why}"] = self.reasons.get(f"{label}: {why}", 0) + 1
            # The first few of each label before his first name, and again after it (a name lost).
            if sum(1 for look in self.looks if look["label"] == label and look["named_before"] == named_before) \
                    < KEEP_LOOKS:
                self.looks.append({"label": label, "frame": self.clip.file_frame(index), "ms": round(1000 * since),
                                   "track": f.track, "distance": f.distance, "not_judged": f.not_judged,
                                   "named_before": named_before})

    def finish(self) -> None:
        """Appearances that were shown but never labelled as they should be count as missed."""
        with self._lock:
            for appearance in self._appeared:
                if appearance not in self._done:
                    first = self._first_frames[appearance]
                    role = "known" if any(p.person is not None for p in self.clip.placements(first)
                                          if p.appearance == appearance) else "stranger"
                    self.missed[role] += 1

    def figures(self) -> dict:
        """Per role: the counts, the first-label times (ms) and misses, the tracks drawn Unknown, the unknown
        events; the known person's first samples drawn Unknown or "face" and why."""
        return {role: {"counts": dict(self.counts[role]), "first_ms": [round(v) for v in self.first_ms[role]],
                       "missed": self.missed[role], "unknown_tracks": len(self.unknown_tracks[role]),
                       "unknown_events": self.unknown_events[role], "settled": dict(self.settled[role]),
                       "tracks_drawn": len(self.tracks[role])}
                for role in ROLES} | {"frames_out": self.frames_out, "looks": self.looks,
                                "reasons": self.reasons}

