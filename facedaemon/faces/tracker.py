"""Follow faces across frames by box overlap and motion so a face is encoded once per track, not once per frame,
and decide each track's label (a person, Unknown, or the neutral "face") from the judgeable looks at it.

Pure: the caller passes the time in, so tests need no sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from facedaemon.faces.boxes import iou
from facedaemon.faces.quality import (
    TURNED_NAME_MARGIN,
    judgeable,
    may_name,
    names_when_turned,
    turned_but_nameable,
)
from facedaemon.faces.types import FACE, UNKNOWN, Box, is_person

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.quality import LiveQuality

# How a track's label is decided (docs/faces.md, "Three labels"). Only looks that can be judged
# (quality.judgeable) vote, and, for a name only, a close clear match on a face turned a little past the limit
# (quality.turned_but_nameable, ballot). The "very far" distance (tolerance 0.6 + 0.15) and NAME_MARGIN are what
# the pose measurement recommends (faces/pose.py RECOMMENDED_*, docs/performance.md "Face pose and distance").
LOOK_GAP_MAX = 10.0  # s between two looks at a camera beyond which its tracks are not carried over (expire())
UNKNOWN_AFTER_MISSES = 2  # judgeable misses in a row that make a track Unknown …
FAR_BEYOND_TOLERANCE = 0.15  # … or one this far beyond the tolerance (strangers: 0.69+, docs/performance.md)
NAME_MARGIN = 0.05  # a match names a track only when the nearest other person is at least this much farther
UNDECIDED_RECHECK_SECONDS = 0.5  # a track with a vote but no label yet is encoded again this soon
BETTER_SHOT = 1.3  # a look this much better (quality.shot_score) than the best shot is encoded at once …
BETTER_SHOT_SECONDS = 1.0  # … at most once this often per track
TURNED_RETRY_SECONDS = 0.5  # an unnamed track's turned look that named nobody is tried again this soon
# How far past a match to look for the next person (matcher.runner_up): enough for either rule's margin.
RUNNER_UP_REACH = max(NAME_MARGIN, TURNED_NAME_MARGIN)

# Following a face between looks (associate). A worker that answers late (a loaded machine, a Pi: 0.6 s or more
# between looks) sees a small walking face move more than its own width between looks: by overlap alone each look
# was a new track, encoded and decided afresh (docs/performance.md, "Third round: faces followed by motion").
MOTION_HORIZON = 1.5  # s: a track's box is carried along its velocity at most this far past its last sighting
REACH_BASE = 0.5  # a box whose centre is this many face heights from where the track should be is the same face …
REACH_PER_SECOND = 1.0  # … plus this many for each second since it was seen, up to REACH_SECONDS: a leap. The
REACH_SECONDS = 1.2  # bench's 48 px face at 60 px/s leaps 1.4 heights in 1.1 s; the labels bench's next stranger
# steps in 2 heights from where the last one left (bench/labels_clip.py STRANGER_SPOTS): someone new, never a leap
LEAP_SIZE_RATIO = 1.6  # a leap keeps its track only if the face is at most this much bigger or smaller
VELOCITY_SMOOTHING = 0.5  # weight of the newest measured velocity (box jitter must not fling the prediction)


@dataclass(frozen=True, slots=True)
class Vote:
    name: str  # a person, or UNKNOWN (a judgeable miss)
    distance: float | None
    confidence: float
    # Enough on its own to label a track: a match whose runner-up person is NAME_MARGIN farther, or a miss very far
    # from everyone (or ruled out by a negative example). The worker always sets it (see decisive()).
    decisive: bool = True


@dataclass(slots=True)
class BestShot:
    """The best look at a track so far (quality.shot_score), kept with its crop and encoding.

    Read by the unknown crops (worker/unknowns.py) and the recent crops (runtime/recent.py); a later visit history
    reads `Track.best` the same way (worker/child.py keeps every camera's tracks in ChildCamera.tracker)."""

    score: float
    quality: LiveQuality
    box: Box  # where the face was, frame pixels
    crop: np.ndarray  # BGR: the face with faces/crops.CROP_MARGIN around it, at most MAX_CROP_SIDE
    face: Box  # where the face lies in `crop`
    encoding: np.ndarray  # dlib's 128 numbers of this look
    time: float  # Unix time of the frame


@dataclass(slots=True)
class Track:
    id: int
    box: Box
    last_seen: float
    last_encoded: float | None = None
    votes: deque[Vote] = field(default_factory=lambda: deque(maxlen=5))  # judgeable looks only
    stale: bool = False  # the gallery changed: the next vote replaces the old ones
    label: str = FACE  # the decided label: FACE until judgeable looks decide (decide())
    quality: LiveQuality | None = None  # of the newest detection
    best: BestShot | None = None
    last_shot: float | None = None  # monotonic time a better look was last encoded for (BETTER_SHOT_SECONDS)
    ignored: bool = False  # near an ignored unknown group (gallery/groups.py): "face", never Unknown, no crop
    turned_tried: float | None = None  # when a turned look (quality.turned_but_nameable) last named nobody
    velocity: tuple[float, float] | None = None  # the box centre's (down, right) px/s; None until seen twice

    def vote(self, name: str, distance: float | None, confidence: float, now: float, decisive: bool = True) -> None:
        if self.stale:
            self.votes.clear()
            self.stale = False
        self.votes.append(Vote(name, distance, confidence, decisive))
        self.last_encoded = now
        self.label = decide(self.label, self.votes)

    def redecide(self, people: set[str] | None = None) -> None:
        """Encode again at the next detection and let the votes from then on decide: votes cast against the old
        gallery (a name since forgotten, or marked "not this person") must not outvote them. The old name stays
        shown until then, so the label does not blink, unless its person is no longer in `people` (forgotten):
        then nobody vouches for the face, and it reads "face" until judged again."""
        self.stale = True
        self.last_encoded = None
        if people is not None and is_person(self.label) and self.label not in people:
            self.label = FACE

    def ignore(self, now: float) -> None:
        """The face belongs to an ignored group: the neutral "face" from now on, unless it turns out to be a
        person (a matching vote names it as usual)."""
        self.ignored, self.label, self.stale, self.last_encoded = True, FACE, False, now
        self.votes.clear()

    @property
    def name(self) -> str:
        return self.label

    @property
    def evidence(self) -> Vote:
        """The newest vote for the winning name: the distance and confidence reported with the label."""
        name = self.name
        for vote in reversed(self.votes):
            if vote.name == name:
                return vote
        return Vote(UNKNOWN, None, 0.0)


def decide(label: str, votes: Sequence[Vote]) -> str:
    """A track's next label from its current one and its judgeable votes (oldest first, the newest just cast).

    - A decisive match names a track that has no name (a "face", or an Unknown that turns out to be known);
      a named track changes to another person only when that person also wins the vote.
    - A miss makes a track Unknown after UNKNOWN_AFTER_MISSES in a row, or at once when decisive; a named track
      also needs the misses to win the vote (a confident name is not undone by a couple of borderline misses).
    - Anything else keeps the label: a non-decisive match (the look-alike is as near), or too few misses.
    """
    if not votes:
        return label
    newest = votes[-1]
    if is_person(newest.name):
        if newest.name == label or not newest.decisive:
            return label
        if not is_person(label):
            return newest.name
        return newest.name if winner(votes) == newest.name else label
    if label == UNKNOWN:
        return label
    misses = 0
    for vote in reversed(votes):
        if is_person(vote.name):
            break
        misses += 1
    enough = newest.decisive or misses >= UNKNOWN_AFTER_MISSES
    if not is_person(label):
        return UNKNOWN if enough else label
    return UNKNOWN if enough and winner(votes) == UNKNOWN else label


def decisive(name: str, distance: float | None, runner_up: float | None, tolerance: float) -> bool:
    """Whether a judgeable look alone may label a track (Vote.decisive). `runner_up`: for a match, the distance to
    the nearest other person (None: nobody else within reach)."""
    if is_person(name):
        return runner_up is None or distance is None or runner_up - distance >= NAME_MARGIN
    # An empty gallery (no distance) makes everyone a stranger; a miss within the tolerance was ruled out by a
    # negative example of the person ("not this person").
    return distance is None or distance <= tolerance or distance >= tolerance + FAR_BEYOND_TOLERANCE


def ballot(look: LiveQuality, name: str, distance: float | None, confidence: float, runner_up: float | None,
           tolerance: float, label: str = FACE) -> Vote | None:
    """The vote one encoded look casts, or None when it cannot be judged (quality.judgeable: a miss needs the
    stricter rule). `runner_up`: for a match, the distance to the nearest other person (see decisive).

    A look turned past the judging limit but nameable (quality.turned_but_nameable) votes only for a close, clear
    match (quality.names_when_turned), and only to name a track that has no label yet (`label`, the track's) or to
    confirm its own name: a turned look never makes a track Unknown and never takes a name or an Unknown away."""
    if judgeable(look, match=is_person(name)):
        return Vote(name, distance, confidence, decisive(name, distance, runner_up, tolerance))
    if (is_person(name) and label in (FACE, name) and turned_but_nameable(look)
            and names_when_turned(distance, runner_up)):
        return Vote(name, distance, confidence, True)
    return None


def wants_encoding(track: Track, look: LiveQuality, score: float, now: float, recheck_seconds: float,
                   recheck_max_seconds: float | None = None, due: bool | None = None) -> bool:
    """Whether to encode this look: one that could name someone (quality.may_name) when the track's recheck is due
    (`due` from the worker's schedule, else needs_encoding) or the look is clearly better than its best shot
    (wants_better_shot, `score`). A turned look that named nobody does not put the recheck off (a judgeable look is
    still encoded at once), and the next turned look waits TURNED_RETRY_SECONDS."""
    if not may_name(look):
        return False
    if (not judgeable(look, match=True) and track.turned_tried is not None
            and now - track.turned_tried < TURNED_RETRY_SECONDS):
        return False
    if due is None:
        due = needs_encoding(track, now, recheck_seconds, recheck_max_seconds)
    return due or wants_better_shot(track, score, now)


def wants_better_shot(track: Track, score: float, now: float) -> bool:
    """Encode this look although no recheck is due: it is clearly better than the track's best shot, and the track
    was not re-encoded for a better look within BETTER_SHOT_SECONDS (bounded work per face)."""
    if track.best is None or track.last_encoded is None:
        return False
    if track.last_shot is not None and now - track.last_shot < BETTER_SHOT_SECONDS:
        return False
    return score >= track.best.score * BETTER_SHOT


def offer_shot(track: Track, shot: BestShot) -> bool:
    """Keep `shot` as the track's best when it scores higher; True when it did."""
    if track.best is not None and shot.score <= track.best.score:
        return False
    track.best = shot
    return True


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
    if track.label == FACE and track.votes:
        # A vote cast and no label yet (one miss, or a look-alike as near): the next look decides, soon.
        return now - track.last_encoded >= min(recheck_seconds, UNDECIDED_RECHECK_SECONDS)
    return now - track.last_encoded >= recheck_interval(track.votes, recheck_seconds, recheck_max_seconds,
                                                        track.label)


def recheck_interval(votes: deque[Vote] | list[Vote], base: float, most: float | None,
                     label: str | None = None) -> float:
    """Seconds until a track is encoded again: doubling with each recheck that confirmed its name (`label`,
    default the vote's winner).

    Encoding holds the worker for ~80 ms a face, so re-confirming a settled name every `base` seconds is most of
    the worker's steady cost; an Unknown or contested track keeps the base rate (it may yet be named).
    """
    if most is None or not votes:
        return base
    name = winner(votes) if label is None else label
    if not is_person(name):
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
    _last_look: float | None = None  # when update() last ran: the newest frame the worker looked at

    def update(self, boxes: list[Box], now: float) -> list[Track]:
        """Associate this frame's detections with tracks; return the track for each box, in box order."""
        self.expire(now)
        assigned = associate(self.tracks, boxes, self.min_iou, now)
        result: list[Track] = []
        for index, box in enumerate(boxes):
            match = assigned.get(index)
            if match is None:
                track = Track(self._next_id, box, now, votes=deque(maxlen=self.votes_kept))
                self._next_id += 1
                self.tracks.append(track)
            else:
                track, leapt = match
                if leapt:
                    # Followed by distance alone: most likely the face moved, but it may be someone who stepped
                    # in where a face the detector missed was. Its next judgeable look decides its label alone,
                    # as a new face's would; the label shown meanwhile stays (no blink).
                    track.redecide()
                track.velocity = followed_velocity(track, box, now)
            track.box = box
            track.last_seen = now
            result.append(track)
        self._last_look = now
        return result

    def expire(self, now: float) -> None:
        """Forget tracks unseen for expire_seconds, but never one seen on the last frame looked at: unseen means
        looked for and missed. A slow worker (a loaded or small machine, over a second per frame) or frames skipped
        while nothing moves must not turn every face into a new track, encoded and decided again."""
        last = self._last_look
        unlooked = last is not None and now - last <= LOOK_GAP_MAX  # longer: a camera that was down, a new scene
        self.tracks = [t for t in self.tracks
                       if now - t.last_seen <= self.expire_seconds or (unlooked and t.last_seen >= last)]

    def coasting(self, detected: list[Track], now: float, within: float) -> list[Track]:
        """Labelled tracks (a name or Unknown) the detector missed this frame but saw less than `within` seconds ago.

        HOG on a downscaled frame misses a face now and then; reporting the track where it was last seen keeps
        its label on screen instead of blinking off until the next hit.
        """
        ids = {track.id for track in detected}
        return [t for t in self.tracks if t.id not in ids and t.label != FACE and now - t.last_seen <= within]


def associate(tracks: list[Track], boxes: list[Box], min_iou: float,
              now: float | None = None) -> dict[int, tuple[Track, bool]]:
    """Which track each box continues, as (track, leapt): greedy, nearest to where the track should be first
    (cost()), each track and each box used at most once. `now`: the look's time (None: the tracks' boxes are not
    moved). Leapt: followed by distance alone (cost())."""
    pairs = []
    for b, box in enumerate(boxes):
        for t, track in enumerate(tracks):
            found = cost(track, box, min_iou, track.last_seen if now is None else now)
            if found is not None:
                pairs.append((found[0], b, t, found[1]))
    pairs.sort(key=lambda p: (p[0], p[1], p[2]))
    used_boxes: set[int] = set()
    used_tracks: set[int] = set()
    result: dict[int, tuple[Track, bool]] = {}
    for _, b, t, leapt in pairs:
        if b in used_boxes or t in used_tracks:
            continue
        used_boxes.add(b)
        used_tracks.add(t)
        result[b] = (tracks[t], leapt)
    return result


def cost(track: Track, box: Box, min_iou: float, now: float) -> tuple[float, bool] | None:
    """How far `box` is from where `track` should be at `now` (its box carried along its velocity, predicted()),
    in face heights plus the size change (|log| of the height ratio): the pair's rank in associate(). None when the
    box is not this face: it overlaps neither the track's last box nor the predicted one by `min_iou`, and is no
    leap either. A leap (the second value True): the centre within REACH_BASE + REACH_PER_SECOND × the seconds
    since the track was seen (capped at REACH_SECONDS) face heights of the predicted one, the height within
    LEAP_SIZE_RATIO of the track's. Two faces side by side or crossing each keep their own track: each one's box
    is nearer its own track's prediction than the other's."""
    ahead = predicted(track, now)
    height_then, height_now = max(1, track.box[2] - track.box[0]), max(1, box[2] - box[0])
    size = (height_then + height_now) / 2.0
    (y0, x0), (y1, x1) = centre(ahead), centre(box)
    distance = math.hypot(y1 - y0, x1 - x0)
    rank = distance / size + abs(math.log(height_now / height_then))
    if iou(ahead, box) >= min_iou or iou(track.box, box) >= min_iou:
        return rank, False
    since = min(max(0.0, now - track.last_seen), REACH_SECONDS)
    reach = REACH_BASE + REACH_PER_SECOND * since
    ratio = max(height_now, height_then) / min(height_now, height_then)
    if distance <= reach * size and ratio <= LEAP_SIZE_RATIO:
        return rank, True
    return None


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def predicted(track: Track, at: float) -> Box:
    """The track's box moved along its velocity to `at`, at most MOTION_HORIZON past its last sighting; its size
    as last seen (a face walking up grows, but the detector's box size jitters as much from look to look)."""
    if track.velocity is None:
        return track.box
    ahead = min(max(0.0, at - track.last_seen), MOTION_HORIZON)
    dy, dx = round(track.velocity[0] * ahead), round(track.velocity[1] * ahead)
    top, right, bottom, left = track.box
    return (top + dy, right + dx, bottom + dy, left + dx)


def followed_velocity(track: Track, box: Box, now: float) -> tuple[float, float] | None:
    """The track's velocity after seeing it at `box` at `now`: the centre's movement since its last sighting per
    second, averaged with the earlier velocity (VELOCITY_SMOOTHING); the first measurement as it is."""
    span = now - track.last_seen
    if span <= 0:
        return track.velocity
    (y0, x0), (y1, x1) = centre(track.box), centre(box)
    measured = ((y1 - y0) / span, (x1 - x0) / span)
    if track.velocity is None:
        return measured
    keep = 1.0 - VELOCITY_SMOOTHING
    return (VELOCITY_SMOOTHING * measured[0] + keep * track.velocity[0],
            VELOCITY_SMOOTHING * measured[1] + keep * track.velocity[1])


def all_tracks_looked_at(tracks: list[Track], min_height: int) -> bool:
    """Every track has been encoded or measured (its quality is known: it may be too blurred or turned to judge) or
    is under `min_height` px (too small to encode): the detector only needs to follow them (see search_regions) and
    look for newcomers now and then. Rechecks of an Unknown face go on at the base rate on the followed box."""
    return bool(tracks) and all(track.last_encoded is not None or track.quality is not None
                                or track.box[2] - track.box[0] < min_height for track in tracks)


