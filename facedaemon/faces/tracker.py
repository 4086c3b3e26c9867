"""Follow faces across frames by box overlap so a face is encoded once per track, not once per frame.

Pure: the caller passes the time in, so tests need no sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from facedaemon.faces.boxes import iou
from facedaemon.faces.types import UNKNOWN, Box


@dataclass(frozen=True, slots=True)
class Vote:
    name: str
    distance: float | None
    confidence: float


@dataclass(slots=True)
class Track:
    id: int
    box: Box
    last_seen: float
    last_encoded: float | None = None
    votes: deque[Vote] = field(default_factory=lambda: deque(maxlen=5))
    stale: bool = False  # the gallery changed: the next vote replaces the old ones

    def vote(self, name: str, distance: float | None, confidence: float, now: float) -> None:
        if self.stale:
            self.votes.clear()
            self.stale = False
        self.votes.append(Vote(name, distance, confidence))
        self.last_encoded = now

    def redecide(self) -> None:
        """Encode again at the next detection and let that vote alone decide: votes cast against the old gallery
        (a name since forgotten, or marked "not this person") must not outvote it. The old name stays shown
        until then, so the label does not blink."""
        self.stale = True
        self.last_encoded = None

    @property
    def name(self) -> str:
        return winner(self.votes)

    @property
    def evidence(self) -> Vote:
        """The newest vote for the winning name: the distance and confidence reported with the label."""
        name = self.name
        for vote in reversed(self.votes):
            if vote.name == name:
                return vote
        return Vote(UNKNOWN, None, 0.0)


def vote_weight(vote: Vote) -> float:
    # Confidence is how sure a match is; for Unknown the certainty is the opposite (far from everyone = surely
    # unknown), so a confident name is not outvoted by a single borderline miss and vice versa.
    return vote.confidence if vote.name != UNKNOWN else 1.0 - vote.confidence


def winner(votes: deque[Vote] | list[Vote]) -> str:
    """Name with the largest total weight; ties go to the name voted most recently."""
    totals: dict[str, float] = {}
    recency: dict[str, int] = {}
    for index, vote in enumerate(votes):
        totals[vote.name] = totals.get(vote.name, 0.0) + vote_weight(vote)
        recency[vote.name] = index
    if not totals:
        return UNKNOWN
    return max(totals, key=lambda name: (round(totals[name], 9), recency[name]))


def needs_encoding(track: Track, now: float, recheck_seconds: float, recheck_max_seconds: float | None = None) -> bool:
    if track.last_encoded is None:
        return True
    return now - track.last_encoded >= recheck_interval(track.votes, recheck_seconds, recheck_max_seconds)


def recheck_interval(votes: deque[Vote] | list[Vote], base: float, most: float | None) -> float:
    """Seconds until a track is encoded again: doubling with each recheck that confirmed its name.

    Encoding holds the worker for ~80 ms a face, so re-confirming a settled name every `base` seconds is most of
    the worker's steady cost; an Unknown or contested track keeps the base rate (it may yet be named).
    """
    if most is None or not votes:
        return base
    name = winner(votes)
    if name == UNKNOWN:
        return base
    streak = 0
    for vote in reversed(votes):
        if vote.name != name:
            break
        streak += 1
    return min(most, base * 2.0 ** max(0, streak - 1))


@dataclass
class Tracker:
    """Tracks for one camera."""

    min_iou: float = 0.2
    expire_seconds: float = 1.0
    votes_kept: int = 5
    tracks: list[Track] = field(default_factory=list)
    _next_id: int = 1

    def update(self, boxes: list[Box], now: float) -> list[Track]:
        """Associate this frame's detections with tracks; return the track for each box, in box order."""
        self.expire(now)
        assigned = associate(self.tracks, boxes, self.min_iou)
        result: list[Track] = []
        for index, box in enumerate(boxes):
            track = assigned.get(index)
            if track is None:
                track = Track(self._next_id, box, now, votes=deque(maxlen=self.votes_kept))
                self._next_id += 1
                self.tracks.append(track)
            track.box = box
            track.last_seen = now
            result.append(track)
        return result

    def expire(self, now: float) -> None:
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.expire_seconds]

    def coasting(self, detected: list[Track], now: float, within: float) -> list[Track]:
        """Named tracks the detector missed this frame but saw less than `within` seconds ago.

        HOG on a downscaled frame misses a face now and then; reporting the track where it was last seen keeps
        its label on screen instead of blinking off until the next hit.
        """
        ids = {track.id for track in detected}
        return [t for t in self.tracks if t.id not in ids and t.votes and now - t.last_seen <= within]


def associate(tracks: list[Track], boxes: list[Box], min_iou: float) -> dict[int, Track]:
    """Greedy best-overlap-first matching: each track and each box used at most once."""
    pairs = [
        (overlap, b, t)
        for b, box in enumerate(boxes)
        for t, track in enumerate(tracks)
        if (overlap := iou(track.box, box)) >= min_iou
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_boxes: set[int] = set()
    used_tracks: set[int] = set()
    result: dict[int, Track] = {}
    for _, b, t in pairs:
        if b in used_boxes or t in used_tracks:
            continue
        used_boxes.add(b)
        used_tracks.add(t)
        result[b] = tracks[t]
    return result


def all_tracks_looked_at(tracks: list[Track], min_height: int) -> bool:
    """Every track has been encoded (named, Unknown, or judged too blurred) or is under `min_height` px (too small
    to encode): the detector only needs to follow them (see search_regions) and look for newcomers now and then.
    Rechecks of an Unknown face go on at the base rate on the followed box."""
    return bool(tracks) and all(track.last_encoded is not None or track.box[2] - track.box[0] < min_height
                                for track in tracks)


