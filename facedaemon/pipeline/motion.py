"""Where a face's box is between recognition results: velocity from its sightings, extrapolated per output frame.

Runs in the daemon (the camera's output thread); the worker's tracks and votes are in faces/tracker.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from facedaemon.faces.types import Box, FaceResult

PREDICT_HORIZON = 0.5  # seconds: boxes are extrapolated at most this far past their last sighting


@dataclass(frozen=True, slots=True)
class Motion:
    """A track's last box, when it was seen, and its smoothed velocity in pixels per second per box edge (all edges
    move alike: the box's centre moves, its size stays as last seen)."""

    box: Box
    time: float
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def follow(previous: Motion | None, box: Box, time: float, smoothing: float = 0.5) -> Motion:
    """Motion after seeing `box` at `time`; velocity is an exponential average so box jitter does not fling it."""
    if previous is None or time <= previous.time:
        return Motion(box, time, previous.velocity if previous is not None else (0.0, 0.0, 0.0, 0.0))
    span = time - previous.time
    # The centre's speed, for every edge: a face turning or the detector's box size jittering must not make the
    # extrapolated box shrink or grow (an edge-by-edge speed would keep shrinking it until the next result).
    dy = ((box[0] + box[2]) - (previous.box[0] + previous.box[2])) / (2.0 * span)
    dx = ((box[1] + box[3]) - (previous.box[1] + previous.box[3])) / (2.0 * span)
    measured = (dy, dx, dy, dx)
    velocity = tuple(smoothing * m + (1.0 - smoothing) * v for m, v in zip(measured, previous.velocity, strict=True))
    return Motion(box, time, velocity)  # type: ignore[arg-type]


def predict(motion: Motion, at: float, horizon: float) -> Box:
    """Where the box should be at `at`, extrapolated at most `horizon` seconds past the last sighting."""
    ahead = min(max(0.0, at - motion.time), horizon)
    return tuple(round(edge + v * ahead) for edge, v in zip(motion.box, motion.velocity, strict=True))  # type: ignore[return-value]


def moved(faces: tuple[FaceResult, ...], motions: dict[int, Motion], at: float) -> tuple[FaceResult, ...]:
    """The faces with their boxes moved to where their tracks' velocities put them at `at`."""
    return tuple(
        dataclasses.replace(face, box=predict(motion, at, PREDICT_HORIZON))
        if (motion := motions.get(face.track)) is not None else face
        for face in faces
    )
