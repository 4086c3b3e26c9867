"""When a camera offers a frame to recognition: a few a second while searching, one early when the picture
changes, fewer while every face on screen is named, one every STILL_RECHECK s while nobody is on screen and nothing
moves. Pure (time and frames passed in); the output thread calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facedaemon import yuv
from facedaemon.faces.types import Box, RecognitionResult, is_person

SEARCH_RATE = 4.0  # frames/s sent to recognition while no face, or an unknown one, is on screen and nothing moves
CHANGE_RATE = 8.0  # while searching, frames/s at most sent early because the picture changed
CHANGE_STRIDE = 16  # the change test samples every 16th pixel each way (45×80 samples of a 720p frame)
CHANGE_LEVEL = 30  # |difference| in brightness (Y) that makes a sample "changed": far above sensor noise
CHANGE_SHARE = 0.002  # share of changed samples that makes the picture "changed" (a 150 px face in 720p: ~2 %)
FOLLOW_RATE = 3.0  # frames/s while every face on screen is tracked and named (boxes are extrapolated between)
# Nobody on screen and the picture as it was when last sent: the worker would find nobody again, so a paced frame
# goes only this often (a safety net), not SEARCH_RATE times a second. Any change goes at once, as before.
STILL_RECHECK = 2.0


def all_named(latest: RecognitionResult | None) -> bool:
    """The last result showed faces and named every one of them."""
    return latest is not None and bool(latest.faces) and all(is_person(face.name) for face in latest.faces)


def submit_interval(latest: RecognitionResult | None) -> float:
    """Seconds between paced frames sent to recognition, given what the last result showed."""
    return 1.0 / (FOLLOW_RATE if all_named(latest) else SEARCH_RATE)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A sparse sample of an I420 frame's brightness for the change test (a strided copy: microseconds)."""
    return yuv.luma(image)[::CHANGE_STRIDE, ::CHANGE_STRIDE].astype("int16")


def changed(thumb: np.ndarray, reference: np.ndarray | None) -> bool:
    return change_region(thumb, reference) is not None


def change_region(thumb: np.ndarray, reference: np.ndarray | None) -> Box | None:
    """Where the picture changed since the reference, in full-frame pixels (everywhere when there is no
    reference); None when it did not change."""
    if reference is None or reference.shape != thumb.shape:
        return (0, thumb.shape[1] * CHANGE_STRIDE, thumb.shape[0] * CHANGE_STRIDE, 0)
    moved_samples = abs(thumb - reference) > CHANGE_LEVEL
    if float(moved_samples.mean()) <= CHANGE_SHARE:
        return None
    rows, cols = np.nonzero(moved_samples)
    # Out to the neighbouring samples: the change may begin anywhere between a changed sample and the last still one.
    top, bottom = max(0, int(rows.min()) - 1) * CHANGE_STRIDE, (int(rows.max()) + 1) * CHANGE_STRIDE
    left, right = max(0, int(cols.min()) - 1) * CHANGE_STRIDE, (int(cols.max()) + 1) * CHANGE_STRIDE
    return (top, right, bottom, left)


@dataclass
class SubmitPacer:
    """When the output thread offers a frame to recognition. Pure: time and the frame are passed in.

    An early frame (sent because the picture changed) goes at once when nobody is on screen and the picture was
    still; after one, frames are paced until the picture is still again, so motion that shows nobody (leaves,
    rain, a passing car) costs the paced rate, not three times it. With faces on screen frames are paced: they
    are followed, and early frames would only add cost."""

    next_paced: float = 0.0  # monotonic
    last_early: float = float("-inf")  # when a frame last went early because the picture changed
    last_sent: float = float("-inf")  # when a frame last went (early or paced)
    early_gap: float = 0.0  # an early frame goes at the soonest this long after the last frame sent
    reference: np.ndarray | None = None  # thumbnail of the last frame sent
    hint: Box | None = None  # where the picture changed, when that is why `wants` approved the frame
    _early: bool = False
    _thumb: np.ndarray | None = None

    forced: bool = False  # the next frame goes whatever the picture (force())

    def force(self) -> None:
        """Send the next frame, still or not: the worker wants a look (its gallery changed: tracks re-decide)."""
        self.forced, self.next_paced = True, 0.0

    def wants(self, now: float, latest: RecognitionResult | None, image: np.ndarray) -> bool:
        self._early, self._thumb, self.hint = False, None, None
        if now >= self.next_paced:
            return not self._still(now, latest, image)
        if (latest is not None and latest.faces) or now - self.last_early < 1.0 / CHANGE_RATE \
                or now - self.last_sent < self.early_gap:
            return False
        self._thumb = thumbnail(image)
        self.hint = change_region(self._thumb, self.reference)
        self._early = self.hint is not None
        return self._early

    def _still(self, now: float, latest: RecognitionResult | None, image: np.ndarray) -> bool:
        """A paced frame that can be skipped: the last result showed nobody, and the picture has not changed since
        the last frame sent (within STILL_RECHECK s). With any face on screen frames always go: its track is
        followed, rechecked, re-decided."""
        if self.forced or latest is None or latest.faces or self.reference is None \
                or now - self.last_sent >= STILL_RECHECK:
            return False
        # Moved since: it goes as a frame sent for the change would, with where it changed (the worker looks there
        # first: someone walking into a still scene is named as fast as before).
        self._thumb = thumbnail(image)
        self.hint = change_region(self._thumb, self.reference)
        self._early = self.hint is not None
        return not self._early

    def sent(self, now: float, latest: RecognitionResult | None, image: np.ndarray) -> None:
        """The frame `wants` just approved was taken by the recognizer."""
        self.forced = False
        self.next_paced = now + submit_interval(latest)
        thumb = self._thumb if self._thumb is not None else thumbnail(image)
        self.last_sent = now
        if self._early:
            self.last_early = now
            self.early_gap = 1.0 / SEARCH_RATE
        elif self.reference is not None and change_region(thumb, self.reference) is None:
            self.early_gap = 0.0  # a still picture: the next change goes at once
        self.reference = thumb
