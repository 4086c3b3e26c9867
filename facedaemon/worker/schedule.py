"""Which looks the recognition child spends its CPU on: when a track is encoded, how often the whole frame is
scanned. Pure (tracks, looks and the time passed in); worker/child.py calls it.

The label each encoding votes for is decided elsewhere (faces/tracker.py, faces/quality.py); this module only
chooses when to encode. A face encoding costs ~80 ms and a BlazeFace forward ~9 ms of one core here (docs/
performance.md, "Per-frame cost"), so a camera with a named face in view pays mostly for rechecks that confirm
what it knew and for whole-frame scans that find nobody new. Rechecks are stretched while nothing calls for them,
and never when something does: a gallery change, a forgotten name, "not this person" or a named group makes the track
stale (`Track.redecide`, last_encoded None) and it is encoded at its next look, whatever this module says.
"""

from __future__ import annotations

from dataclasses import dataclass

from facedaemon.faces.quality import LiveQuality
from facedaemon.faces.tracker import Track, needs_encoding
from facedaemon.faces.types import is_person

# A settled face counts as unchanged since its last encoding while its box height stays within this share …
STEADY_HEIGHT_SHARE = 0.2
STEADY_TURN_DEGREES = 15.0  # … and its yaw and pitch within this many degrees of what they were then (the pose
# estimate of a face only walking past wanders by ~11°: measured on the bench clip)
# The whole frame is scanned this often while faces are tracked: the only way a newcomer beside them is found.
# Kept while every face is settled too: 1.5 s saved 0.34 of 5.2 forwards a second on the bench clip (~0.3 % of a
# core), but a stranger who stays 2 s beside a named person is then found up to 0.6 s later, or not at all.
FULL_SCAN_SECONDS = 0.9


@dataclass(frozen=True, slots=True)
class EncodedLook:
    """What a track's face looked like at its last encoding."""

    height: int
    yaw: float | None
    pitch: float | None

    @classmethod
    def of(cls, look: LiveQuality) -> EncodedLook:
        return cls(look.height, look.yaw, look.pitch)


def settled(track: Track) -> bool:
    """Named, not stale, and its newest vote was a decisive one for that name."""
    if not is_person(track.label) or track.stale or track.last_encoded is None or not track.votes:
        return False
    newest = track.votes[-1]
    return newest.name == track.label and newest.decisive


def unchanged(look: LiveQuality, then: EncodedLook | None) -> bool:
    """The face is about as big and turned the same way as at its last encoding (a new encoding would say what
    the last one said)."""
    if then is None or then.height <= 0:
        return False
    if abs(look.height - then.height) > STEADY_HEIGHT_SHARE * then.height:
        return False
    for now, before in ((look.yaw, then.yaw), (look.pitch, then.pitch)):
        if (now is None) != (before is None):
            return False
        if now is not None and before is not None and abs(now - before) > STEADY_TURN_DEGREES:
            return False
    return True


def encode_due(track: Track, look: LiveQuality, then: EncodedLook | None, now: float, recheck_seconds: float,
               recheck_max_seconds: float) -> bool:
    """Whether this look at `track` should be encoded (a better shot aside, tracker.wants_better_shot).

    The tracker's rule (needs_encoding: at once when never or no longer validly encoded, then rechecks backing off
    from recheck_seconds to recheck_max_seconds), except that a settled face unchanged since its last encoding is
    rechecked every recheck_max_seconds straight away: its name is confirmed by the next changed look."""
    if track.last_encoded is None or track.stale:
        return True
    if settled(track) and unchanged(look, then):
        return now - track.last_encoded >= recheck_max_seconds
    return needs_encoding(track, now, recheck_seconds, recheck_max_seconds)

