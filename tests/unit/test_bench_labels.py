"""The labels benchmark's pure parts: the clips' geometry and schedule, how samples are classified, the table."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from facedaemon.bench.labels_clip import (
    FACE_PX,
    KNOWN_PERSON,
    QUICK,
    STRANGER_PHOTOS,
    WALK_FROM,
    WALK_TO,
    Durations,
    LabelsClip,
    Placement,
    frame_count,
    placements,
    project,
    turn_pose,
    turned_box,
    walk_face_px,
)
from facedaemon.bench.labels_measure import LabelsRecorder
from facedaemon.bench.labels_report import median_row, run_row, table
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult

D = Durations()


def test_turn_pose_goes_left_right_and_down_and_back() -> None:
    assert turn_pose(0.0) == (0.0, 0.0)
    assert turn_pose(1.5)[0] == pytest.approx(50.0) and turn_pose(3.5)[0] == pytest.approx(-50.0)
    assert turn_pose(5.25) == pytest.approx((0.0, 30.0))
    assert turn_pose(1.0) == pytest.approx((25.0, 0.0))  # halfway up the ramp
    assert turn_pose(6.0 + 1.5) == turn_pose(1.5)  # cycles


def test_walk_grows_from_far_to_near_faster_at_the_end() -> None:
    sizes = [walk_face_px(t, 5.0) for t in (0.0, 1.0, 2.5, 4.0, 5.0, 7.0)]
    assert sizes[0] == pytest.approx(WALK_FROM) and sizes[-2] == pytest.approx(WALK_TO) == sizes[-1]
    assert sizes == sorted(sizes)
    assert sizes[3] - sizes[2] > sizes[1] - sizes[0]  # 1/distance: the last steps change the size most


def test_a_frontal_face_keeps_its_box_and_a_turned_one_narrows() -> None:
    frontal = Placement("p", KNOWN_PERSON, 0, 640.0, 324.0, 150.0)
    assert turned_box(frontal) == (249, 715, 399, 565)
    top, right, bottom, left = turned_box(Placement("p", KNOWN_PERSON, 0, 640.0, 324.0, 150.0, yaw=50.0))
    assert right - left < 0.8 * 150 and abs(bottom - top - 150) < 30
    top, right, bottom, left = turned_box(Placement("p", KNOWN_PERSON, 0, 640.0, 324.0, 150.0, pitch=30.0))
    assert bottom - top < 0.95 * 150 and right - left >= 140


def test_the_turn_is_a_perspective_one() -> None:
    """The side turned away is drawn shorter than the side turned to the camera (not a mere squeeze)."""
    square = [[-75, -75], [75, -75], [75, 75], [-75, 75]]  # top left, top right, bottom right, bottom left
    corners = project(square, 50.0, 0.0, 150.0)
    right_side, left_side = corners[2, 1] - corners[1, 1], corners[3, 1] - corners[0, 1]
    assert right_side > 150 > left_side  # turned to his right: the image's right side nearer
    corners = project(square, 0.0, 30.0, 150.0)
    top, bottom = corners[1, 0] - corners[0, 0], corners[2, 0] - corners[3, 0]
    assert top > 150 > bottom  # looking down: the forehead nearer, the chin away


def test_schedules_show_what_each_clip_promises() -> None:
    def at(kind: str, t: float) -> list[Placement]:
        return placements(kind, t, D)

    assert at("turn", 0.5) == [] and [p.person for p in at("turn", 2.0)] == [KNOWN_PERSON]
    assert at("walk", 1.2)[0].face_px < 40 and at("walk", 1.0 + D.walk_s + 0.5)[0].face_px == pytest.approx(WALK_TO)
    assert at("walk", 1.0 + D.walk_s + D.hold_s + 0.5) == []  # the gap between walks
    seen = {p.photo for t in range(0, 40) for p in at("strangers", t / 2) if p.person is None}
    assert seen == set(STRANGER_PHOTOS)
    assert all(p.person is None for t in range(0, 40) for p in at("strangers", t / 2))
    both = at("both", 1.0 + D.gap_s + 0.5)
    assert sorted(str(p.person) for p in both) == sorted([KNOWN_PERSON, "None"])
    assert frame_count("turn", D) == 30 * (1 + 3 * 6) and frame_count("turn", QUICK) < frame_count("turn", D)


def test_appearances_are_new_tracks_each_time() -> None:
    clip = LabelsClip("x.mp4", "walk", frame_count("walk", D), D)
    assert list(clip.appearances()) == [0, 1, 2]
    strangers = LabelsClip("x.mp4", "both", frame_count("both", D), D)
    assert sorted(strangers.appearances()) == [0, 1, 2, 3, 4]
    assert LabelsClip.from_json(strangers.to_json()) == strangers


def face(name: str, box, track: int = 1, not_judged: str | None = None) -> FaceResult:
    return FaceResult(name, 0.9, 0.4, box, track, not_judged)


def play(clip: LabelsClip, label) -> LabelsRecorder:
    """Every frame of one pass at 30 fps, output 50 ms after capture, drawn as label(index, placement, box)."""
    recorder = LabelsRecorder(clip)
    for index in range(clip.frames + 10):
        captured = 1000.0 + index / clip.fps
        recorder.on_capture(index, captured)
        faces = [f for p, box in clip.truth(index) if (f := label(index, p, box)) is not None]
        recorder.on_output(captured, captured + 0.05, [f.name for f in faces], faces)
    recorder.finish()
    return recorder


def test_known_person_samples_first_name_and_would_be_events() -> None:
    clip = LabelsClip("x.mp4", "turn", frame_count("turn", QUICK), QUICK)

    def label(index, placement, box):
        if index < 36:
            return None  # not found for 6 frames (200 ms)
        if index < 39:
            return face(UNKNOWN, box, track=7)  # a new track starting as Unknown
        return face(FACE if index % 20 == 0 else KNOWN_PERSON, box, track=7)

    figures = play(clip, label)
    known = figures.figures()["known"]
    labelled = clip.frames - 36
    assert known["counts"]["unknown"] == 3 and known["counts"]["none"] == 6
    assert known["counts"]["right"] + known["counts"]["face"] == labelled - 3
    assert known["first_ms"] == [round(1000 * 9 / 30 + 50)]
    assert known["unknown_tracks"] == 1 and known["missed"] == 0
    assert known["unknown_events"] == 0  # Unknown for 100 ms then named: the event rule waits a second
    looks = figures.figures()["looks"]
    assert [look["frame"] for look in looks if look["label"] == "unknown"] == [36, 37, 38]
    assert figures.figures()["reasons"]["unknown: judged"] == 3
    row = run_row(figures.figures(), "known")
    assert row is not None and row["unknown_pct"] == pytest.approx(100 * 3 / labelled)
    # From his first name on (frame 39) only the neutral "face" every 20th frame is not his name.
    settled = known["settled"]
    assert settled["unknown"] == 0 and settled["none"] == 0 and settled["right"] + settled["face"] == clip.frames - 39
    assert row["settled_pct"] == pytest.approx(100 * settled["right"] / (clip.frames - 39))
    assert row["none_pct"] == pytest.approx(100 * 6 / (clip.frames - 30))  # of every frame showing him
    assert run_row(figures.figures(), "stranger") is None  # no stranger on this clip


def test_strangers_named_count_as_wrong_and_a_stranger_never_unknown_is_missed() -> None:
    clip = LabelsClip("x.mp4", "strangers", frame_count("strangers", QUICK), QUICK)
    last = 1 + len(STRANGER_PHOTOS) - 1

    def label(index, placement, box):
        if placement.appearance == 1:
            return face("Taylor", box, track=1)  # named: wrong
        if placement.appearance == last:
            return face(FACE, box, track=last)  # neutral the whole time: never Unknown
        return face(UNKNOWN, box, track=placement.appearance)

    figures = play(clip, label).figures()
    stranger = figures["stranger"]
    assert stranger["counts"]["wrong"] == round(QUICK.stranger_s * 30)
    assert stranger["missed"] == 2  # the named one and the neutral one
    assert stranger["unknown_tracks"] == len(STRANGER_PHOTOS) - 2
    # The daemon's rule: a new Unknown track less than `grace` (2 s) after an announced one left continues that
    # visitor (a face lost and found again); the clip's strangers follow each other 0.7 s apart.
    assert stranger["unknown_events"] == 1
    assert figures["known"]["unknown_events"] == 0 and figures["looks"] == []
    row = run_row(figures, "stranger")
    assert row is not None and math.isinf(row["first_ms"]) and math.isnan(row["right_pct"])
    assert row["wrong"] == 60


def test_a_box_elsewhere_is_no_box_for_the_face() -> None:
    clip = LabelsClip("x.mp4", "turn", frame_count("turn", QUICK), QUICK)
    far = (10, 60, 60, 10)
    figures = play(clip, lambda index, placement, box: face(KNOWN_PERSON, far)).figures()
    assert figures["known"]["counts"]["right"] == 0 and figures["known"]["missed"] == 1


def row(**kw) -> dict[str, float]:
    base = dict.fromkeys(("samples", "right_pct", "unknown_pct", "face_pct", "wrong", "none_pct", "first_ms",
                          "missed", "unknown_tracks", "unknown_events", "settled_pct"), 0.0)
    return base | kw


def test_median_over_runs_keeps_never_and_skips_missing() -> None:
    merged = median_row([row(right_pct=97.0, first_ms=300.0), row(right_pct=100.0, first_ms=math.inf),
                         row(right_pct=99.0, first_ms=200.0, face_pct=math.nan)])
    assert merged["right_pct"] == 99.0 and merged["first_ms"] == 300.0 and merged["face_pct"] == 0.0
    assert math.isinf(median_row([row(first_ms=math.inf), row(first_ms=math.inf), row(first_ms=5.0)])["first_ms"])


def test_table_lists_medians_then_every_run() -> None:
    clip = LabelsClip("x.mp4", "both", frame_count("both", QUICK), QUICK)
    runs = [play(clip, lambda i, p, box: face(p.person or UNKNOWN, box, track=p.appearance)).figures()
            for _ in range(3)]
    runs[0]["load"] = [1.25, 2.0]
    text = table({"both": {"blazeface": runs}})
    medians, singles = text.split("Every run:")
    assert medians.count("| both together | blazeface |") == 2  # the known person and the strangers
    assert singles.count("blazeface, run ") == 6
    assert singles.count("| 1.2 → 2.0 |") == 2 and singles.count("| — |") >= 4  # each run's load, where known
    known_line = next(line for line in medians.splitlines() if "known person" in line)
    assert "| 100.0 % | 0.0 % | 0.0 % | 0 |" in known_line
    assert FACE_PX == 150


def test_a_newcomer_never_stands_where_the_previous_stranger_left() -> None:
    """A box still drawn for the stranger who left must not be read as the next one's label."""
    from facedaemon.bench.range_measure import inside

    for kind in ("strangers", "both"):
        clip = LabelsClip("x.mp4", kind, frame_count(kind, D), D)
        firsts = sorted(clip.appearances().items(), key=lambda item: item[1])
        for (_, before), (appearance, first) in itertools.pairwise([a for a in firsts if a[0] > 0]):
            gone = next(box for p, box in clip.truth(first - round(D.gap_s * 30) - 1) if p.person is None)
            new = next(box for p, box in clip.truth(first) if p.appearance == appearance)
            assert not inside(gone, new), (kind, appearance)
            assert before < first


def test_real_footage_is_the_known_person_alone_on_every_frame_of_every_loop() -> None:
    from facedaemon.bench.labels_footage import footage_clip
    from facedaemon.bench.range_measure import inside

    clip = footage_clip(Path("obama.mp4"), fps=25, file_frames=55, seconds=600)
    assert clip.frames == 15000 and clip.file_frame(55) == 0 and clip.file_frame(14999) == 14999 % 55
    assert clip.appearances() == {0: 0}  # one appearance from the first frame: the loop's seam is a jump cut
    for index in (0, 54, 55, 14999):
        [(placement, box)] = clip.truth(index)
        assert placement.person == KNOWN_PERSON
        # Any box drawn on the frame is his: its centre lies inside the truth box grown by half.
        assert inside((0, 40, 40, 0), box) and inside((680, 1280, 720, 1240), box)
    assert LabelsClip.from_json(clip.to_json()) == clip


def test_a_known_person_drawn_unknown_for_seconds_is_an_unknown_event_about_him() -> None:
    from facedaemon.bench.labels_footage import footage_clip

    clip = footage_clip(Path("obama.mp4"), fps=25, file_frames=55, seconds=10)

    def label(index, placement, box):
        if 100 <= index < 150:  # 2 s on a new track drawn Unknown: the event rule (1 s) announces it once
            return face(UNKNOWN, box, track=2, not_judged="turned away (yaw 48°, at most 30)")
        return face(KNOWN_PERSON, box, track=1)

    figures = play(clip, label).figures()
    assert figures["known"]["unknown_events"] == 1 and figures["known"]["unknown_tracks"] == 1
    assert figures["looks"][0] == {"label": "unknown", "frame": 100 % 55, "ms": round(1000 * (100 / 25 + 0.05)),
                                   "track": 2, "distance": 0.4, "not_judged": "turned away (yaw 48°, at most 30)",
                                   "named_before": True}
    assert figures["known"]["tracks_drawn"] == 2
    assert len(figures["looks"]) == 20  # the first few only
    assert figures["reasons"] == {"unknown: turned away": 50}
    row = run_row(figures, "known")
    assert row is not None and row["unknown_events"] == 1 and row["unknown_pct"] == pytest.approx(100 * 50 / 250)
    assert row["settled_pct"] == pytest.approx(100 * 200 / 250)  # named on the first frame: every sample counts
    assert "REAL footage" in table({"footage": {"blazeface": [figures]}})


def test_without_the_footage_the_row_says_not_run_and_how_to_get_it(tmp_path: Path) -> None:
    from facedaemon.bench.labels_footage import FOOTAGE_COMMIT, footage_file, not_run_note

    assert footage_file(None) is None and footage_file(tmp_path) is None
    note = not_run_note(tmp_path)
    assert "not run" in note and str(tmp_path) in note and FOOTAGE_COMMIT in note and "--footage" in note
    (tmp_path / "obama.mp4").write_bytes(b"x")
    assert footage_file(tmp_path) == tmp_path / "obama.mp4"


def test_runs_from_before_events_were_counted_show_a_dash() -> None:
    clip = LabelsClip("x.mp4", "turn", frame_count("turn", QUICK), QUICK)
    figures = play(clip, lambda i, p, box: face(KNOWN_PERSON, box)).figures()
    del figures["known"]["unknown_events"]
    row = run_row(figures, "known")
    assert row is not None and math.isnan(row["unknown_events"])


def test_clips_choose_rows_and_a_wrong_name_is_a_clear_error() -> None:
    from facedaemon.bench.labels import LabelsError, _kinds

    assert _kinds(None) == ("turn", "walk", "strangers", "both", "footage")
    assert _kinds("strangers, footage") == ("strangers", "footage")
    with pytest.raises(LabelsError, match="--clips: turning"):
        _kinds("turning")


def test_clips_without_the_footage_report_nothing_about_it(tmp_path: Path) -> None:
    """`--clips turn,walk,both` ended in a KeyError after its tables (the JSON never written): the real clip's
    report assumed the clip had been asked for."""
    from facedaemon.bench.labels import _kinds, footage_report

    assert footage_report(_kinds("turn,walk,both"), None, {}, 20.0, None) == []
    assert "not run" in "\n".join(footage_report(_kinds("strangers,footage"), None, {}, 20.0, tmp_path))
    run = {"known": {"tracks_drawn": 1}, "reasons": {}, "looks": []}
    lines = footage_report(_kinds("footage"), tmp_path / "obama.mp4", {"footage": {"hog": [run]}}, 20.0, tmp_path)
    assert "looped 20 s per run" in lines[1] and lines[2].startswith("hog run 1: 1 tracks drawn on him")
