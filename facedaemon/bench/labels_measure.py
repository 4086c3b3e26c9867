"""What a design drew on each frame of a labels clip. Pure: frames, times and faces are passed in.

Every output frame is a sample of every face on screen on it. A drawn face belongs to a true face when its centre
lies inside the true box grown by half its size each way (bench/range_measure.py's rule). Each sample is one of
"right" (the known person's name), "wrong" (any other name; for a stranger: any name), "unknown", "face" (the
neutral box), "none" (no box: not detected yet, or not found).

Per run and per role (the known person, strangers): those counts; per appearance, the time from the first frame
showing it to the first output frame labelling it as it should be (the known person: his name; a stranger:
Unknown); and which tracks were ever drawn Unknown on the known person: each would have been an "unknown person"
event about him.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from facedaemon.bench.labels_clip import LabelsClip
from facedaemon.bench.range_measure import inside, kind
from facedaemon.faces.types import UNKNOWN, FaceResult

KINDS = ("right", "wrong", "unknown", "face", "none")
ROLES = ("known", "stranger")


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
    frames_out: int = 0
    last_index: int = -1  # the last clip frame captured (a run lasts until the clip has been played once)
    _captured: dict[float, int] = field(default_factory=dict)
    _first_frames: dict[int, int] = field(default_factory=dict)  # appearance → its first frame
    _appeared: dict[int, float] = field(default_factory=dict)  # appearance → capture time of its first frame
    _done: set[int] = field(default_factory=set)  # appearances already labelled as they should be
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
            for placement, box in self.clip.truth(index):
                role = "known" if placement.person is not None else "stranger"
                got = kind(faces, box, placement.person)
                self.counts[role][got] += 1
                self.unknown_tracks[role].update(f.track for f in faces
                                                 if f.name == UNKNOWN and inside(f.box, box))
                appeared = self._appeared.get(placement.appearance)
                if got == wanted(placement.person) and appeared is not None \
                        and placement.appearance not in self._done:
                    self._done.add(placement.appearance)
                    self.first_ms[role].append(1000.0 * (written - appeared))

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
        """Per role: the counts, the first-label times (ms) and misses, the tracks drawn Unknown."""
        return {role: {"counts": dict(self.counts[role]), "first_ms": [round(v) for v in self.first_ms[role]],
                       "missed": self.missed[role], "unknown_tracks": len(self.unknown_tracks[role])}
                for role in ROLES} | {"frames_out": self.frames_out}

