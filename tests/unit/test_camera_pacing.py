"""Pure parts of the camera pipeline: how often frames go to recognition, and boxes moved between results."""

import numpy as np
import pytest

from facedaemon import yuv
from facedaemon.faces.types import UNKNOWN, FaceResult, RecognitionResult
from facedaemon.pipeline.motion import Motion, moved
from facedaemon.pipeline.pacing import (
    CHANGE_RATE,
    FOLLOW_RATE,
    SEARCH_RATE,
    SubmitPacer,
    changed,
    submit_interval,
    thumbnail,
)


def result(*names: str) -> RecognitionResult:
    faces = tuple(FaceResult(name, 0.9, 0.4, (100, 200, 200, 100), i) for i, name in enumerate(names))
    return RecognitionResult("cam", 1.0, faces, 0.02, 0)


@pytest.mark.parametrize(
    ("latest", "rate"),
    [
        (None, SEARCH_RATE),  # nothing known yet: look often so a newcomer is named fast
        (result(), SEARCH_RATE),
        (result("Obama", UNKNOWN), SEARCH_RATE),  # an unknown face keeps the fast pace
        (result("Obama"), FOLLOW_RATE),  # everyone named: slower, boxes are extrapolated in between
        (result("Obama", "Biden"), FOLLOW_RATE),
    ],
)
def test_submit_interval(latest, rate) -> None:
    assert submit_interval(latest) == pytest.approx(1.0 / rate)
    assert FOLLOW_RATE <= SEARCH_RATE


def test_moved_extrapolates_tracked_faces_and_leaves_others() -> None:
    faces = result("Obama", "Biden").faces
    motions = {0: Motion((100, 200, 200, 100), 1.0, (0.0, 40.0, 0.0, 40.0))}
    obama, biden = moved(faces, motions, at=1.25)
    assert obama.box == (100, 210, 200, 110) and obama.name == "Obama" and obama.track == 0
    assert biden == faces[1]


def scene(face: bool = False, noise: int = 0, seed: int = 0, shift: int = 0, rows: int = 720) -> np.ndarray:
    """A grey 720p I420 frame, optionally with sensor-like noise and a 150 px 'face' (moved `shift` px right)."""
    image = np.full((rows, 1280, 3), 80, dtype=np.int16)
    if noise:
        image += np.random.default_rng(seed).integers(-noise, noise + 1, image.shape, dtype=np.int16)
    if face:
        image[150:300, 400:520] = (60, 120, 200)
    return yuv.from_bgr(np.roll(np.clip(image, 0, 255).astype(np.uint8), shift, axis=1))


def patch_frame(patch: bool) -> np.ndarray:
    """A black 720p I420 frame, with a bright face-sized patch at rows 200-360, columns 300-440."""
    image = np.zeros((720, 1280, 3), np.uint8)
    if patch:
        image[200:360, 300:440] = 200
    return yuv.from_bgr(image)


def test_change_test_ignores_noise_and_sees_a_face() -> None:
    still = thumbnail(scene(noise=12, seed=1))
    assert not changed(thumbnail(scene(noise=12, seed=2)), still)
    assert changed(thumbnail(scene(face=True, noise=12, seed=3)), still)
    assert changed(still, None) and changed(still, thumbnail(scene(rows=360)))


def test_pacer_sends_a_changed_picture_at_once_while_searching() -> None:
    pacer = SubmitPacer()
    empty, person = scene(), scene(face=True)
    assert pacer.wants(0.0, None, empty)
    pacer.sent(0.0, None, empty)
    assert not pacer.wants(0.05, None, empty), "still picture: wait for the paced frame"
    assert pacer.wants(0.06, None, person), "someone walked in: no waiting"
    pacer.sent(0.06, None, person)
    assert not pacer.wants(0.07, None, empty), "early frames are rate-limited"
    assert not pacer.wants(0.06 + 1 / CHANGE_RATE, None, empty), "the early frame showed nobody: paced rate"
    assert not pacer.wants(0.06 + 1 / CHANGE_RATE, result(UNKNOWN), empty), "a face on screen: followed, paced"
    assert pacer.wants(0.06 + 1 / SEARCH_RATE, None, person), "paced frames go regardless"


def test_early_frames_slow_to_the_paced_rate_while_motion_shows_nobody_and_recover() -> None:
    frames = [scene(face=True, shift=40 * k) for k in range(40)]  # something moves all the time
    pacer, sent = SubmitPacer(), []
    for i, frame in enumerate(frames):
        now = i / 30
        if pacer.wants(now, None, frame):
            pacer.sent(now, None, frame)
            sent.append(now)
    assert len(sent) <= 1 + SEARCH_RATE * 40 / 30 + 1, f"motion showing nobody: about the paced rate, {sent}"
    for _ in range(2):  # two paced frames of the same picture: it is still
        now = pacer.next_paced
        assert pacer.wants(now, None, frames[0])
        pacer.sent(now, None, frames[0])
    assert pacer.wants(now + 1 / CHANGE_RATE, None, frames[1]), "after a still spell a change goes at full rate"


def test_pacer_sends_nothing_early_while_faces_are_on_screen() -> None:
    for latest, rate in ((result("Obama"), FOLLOW_RATE), (result(UNKNOWN), SEARCH_RATE)):
        pacer = SubmitPacer()
        pacer.sent(0.0, latest, scene())
        assert not pacer.wants(0.1, latest, scene(face=True))
        assert pacer.wants(1 / rate, latest, scene(face=True))


def test_change_region_is_where_the_picture_changed() -> None:
    from facedaemon.pipeline.pacing import CHANGE_STRIDE, change_region, thumbnail

    before, after = patch_frame(False), patch_frame(True)  # a face-sized patch appears
    region = change_region(thumbnail(after), thumbnail(before))
    assert region is not None
    top, right, bottom, left = region
    assert top <= 200 and bottom >= 360 and left <= 300 and right >= 440
    assert bottom - top <= 160 + 3 * CHANGE_STRIDE and right - left <= 140 + 3 * CHANGE_STRIDE
    assert change_region(thumbnail(before), thumbnail(before)) is None
    assert change_region(thumbnail(before), None) == (0, 1280, 720, 0)  # nothing to compare: everywhere


def test_an_early_frame_carries_its_change_as_a_hint() -> None:
    pacer = SubmitPacer()
    empty = patch_frame(False)
    assert pacer.wants(0.0, None, empty) and pacer.hint is None  # paced: look everywhere
    pacer.sent(0.0, None, empty)
    face = patch_frame(True)
    assert pacer.wants(0.05, None, face)
    assert pacer.hint is not None and pacer.hint[0] <= 200 and pacer.hint[3] <= 300


def test_nobody_on_screen_and_nothing_moving_sends_a_frame_every_still_recheck_not_the_paced_rate() -> None:
    from facedaemon.pipeline.pacing import STILL_RECHECK

    pacer, still, nobody = SubmitPacer(), scene(noise=12, seed=1), result()
    sent = []
    for i in range(int(30 * (STILL_RECHECK + 1))):
        now, frame = i / 30, scene(noise=12, seed=i)  # sensor noise only: nothing moves
        if pacer.wants(now, nobody, frame):
            pacer.sent(now, nobody, frame)
            sent.append(now)
    assert sent == [0.0, pytest.approx(STILL_RECHECK)], "one look, then the safety net only"
    now = sent[-1] + 0.1
    assert pacer.wants(now, nobody, scene(face=True)), "something moved: at once"
    assert pacer.hint is not None
    assert pacer.wants(10.0, None, still), "no result yet: paced frames go"


def test_a_still_picture_with_a_face_keeps_the_paced_rate() -> None:
    """A face on screen is followed and rechecked (an Unknown one until named): stillness saves nothing there."""
    for latest, rate in ((result("Obama"), FOLLOW_RATE), (result(UNKNOWN), SEARCH_RATE)):
        pacer, frame = SubmitPacer(), scene(face=True)
        pacer.sent(0.0, latest, frame)
        assert pacer.wants(1 / rate, latest, frame)


def test_forcing_sends_the_next_still_frame_at_once() -> None:
    """The gallery changed (a name forgotten, "not this person"): the worker re-decides at its next look, which
    must not wait for the picture to move or for the next paced frame."""
    pacer, frame, nobody = SubmitPacer(), scene(), result()
    pacer.sent(0.0, nobody, frame)
    assert not pacer.wants(0.5, nobody, frame)
    pacer.force()
    assert pacer.wants(0.51, nobody, frame) and pacer.wants(0.51, result("Obama"), frame)
    pacer.sent(0.51, nobody, frame)
    assert not pacer.wants(0.6, nobody, frame), "once"


def test_the_first_change_after_a_still_spell_carries_its_hint_even_when_a_paced_frame_is_due() -> None:
    """Someone walks into a still, empty scene: the frame goes as an early one would, with where it changed, so the
    worker looks there first (the paced frame it replaces would have made it scan the whole picture)."""
    pacer, empty, nobody = SubmitPacer(), patch_frame(False), result()
    pacer.sent(0.0, nobody, empty)
    assert not pacer.wants(1.0, nobody, empty)  # still: skipped, so the paced frame is overdue from 0.25 s on
    assert pacer.wants(1.5, nobody, patch_frame(True))
    assert pacer.hint is not None and pacer.hint[0] <= 200 and pacer.hint[3] <= 300
