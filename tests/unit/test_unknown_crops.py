"""Unknown-face crops: id safety, retention pruning, the best-shot choice and when crops are written;
the recent-faces crops for "not this person"; the retention setting; re-deciding tracks after a gallery change."""

from __future__ import annotations

import json
import os
import textwrap
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from facedaemon.config import ConfigError, load_text
from facedaemon.config.durations import format_duration, parse_duration
from facedaemon.daemon.reload import plan_reload
from facedaemon.faces.crops import shot_of
from facedaemon.faces.quality import live_quality
from facedaemon.faces.tracker import Track, Vote, offer_shot
from facedaemon.faces.types import UNKNOWN
from facedaemon.gallery import unknowns as uk
from facedaemon.runtime.recent import RECENT_KEEP, RecentFaces, crop_file, find_track, read_index
from facedaemon.worker import unknowns as wk

NOW = 1_764_072_000.0
BOX = (100, 260, 260, 100)  # a 160 px face


def textured_frame(blur: int = 0, seed: int = 1) -> np.ndarray:
    """A 480x640 BGR frame with a high-contrast texture where the face box is; blur softens it."""
    import cv2

    rng = np.random.default_rng(seed)
    frame = np.full((480, 640, 3), 90, np.uint8)
    patch = (rng.random((20, 20)) > 0.5).astype(np.uint8) * 200
    patch = cv2.resize(patch, (160, 160), interpolation=cv2.INTER_NEAREST)
    frame[100:260, 100:260] = patch[:, :, None]
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    return frame


def track(track_id: int, name: str, box: tuple[int, int, int, int] = BOX) -> Track:
    found = Track(track_id, box, 0.0, votes=deque(maxlen=5))
    found.vote(name, 0.3 if name != UNKNOWN else 0.7, 0.9 if name != UNKNOWN else 0.3, 0.0)
    return found


def see(face: Track, frame: np.ndarray) -> Track:
    """What the worker does with an encoded look: offer it as the track's best shot (frontal, a sure detection)."""
    look = live_quality(frame[:, :, ::-1], face.box, (0.0, 0.0), 0.95)
    offer_shot(face, shot_of(frame, face.box, look, np.zeros(128), NOW))
    return face


# --- ids and files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("uid", ["door-20251125T120000Z-0a1b2c3d-12", "a", "A_b-9"])
def test_valid_ids(uid: str) -> None:
    assert uk.check_id(uid) == uid


@pytest.mark.parametrize("uid", ["", "../x", "..", ".hidden", "a/b", "a\\b", "a.jpg", "a b", "a\n", "-a", "x" * 129,
                                 "a\x00b", "%2e%2e", "é"])
def test_ids_that_could_leave_the_folder_are_refused(uid: str, tmp_path: Path) -> None:
    with pytest.raises(uk.UnknownsError, match="invalid unknown-face id"):
        uk.check_id(uid)
    assert uk.unknown_file(tmp_path, uid) is None
    with pytest.raises(uk.UnknownsError):
        uk.remove(tmp_path, uid)


def test_unknown_file_is_only_a_regular_file_right_there(tmp_path: Path) -> None:
    folder = tmp_path / "unknowns"
    folder.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    (folder / "real.jpg").write_bytes(b"jpeg")
    (folder / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    (folder / "dir.jpg").mkdir()
    assert uk.unknown_file(folder, "real") == folder.resolve() / "real.jpg"
    assert uk.unknown_file(folder, "link") is None
    assert uk.unknown_file(folder, "dir") is None
    assert uk.unknown_file(folder, "missing") is None
    assert uk.remove(folder, "link") and (tmp_path / "secret.jpg").read_bytes() == b"secret", "the link only"


# --- retention ---------------------------------------------------------------------------------------------------


def test_expired_is_by_age_with_temporary_files_cleared_sooner() -> None:
    files = [("old.jpg", NOW - 7200), ("new.jpg", NOW - 60), (".x.tmp", NOW - 4000), (".y.tmp", NOW - 10)]
    assert uk.expired(files, NOW, 3600.0) == ["old.jpg", ".x.tmp"]
    assert uk.expired(files, NOW, 86400.0 * 7) == [".x.tmp"], "a dead write's temp file goes after an hour"


def test_prune_deletes_crops_and_metadata_past_retention(tmp_path: Path) -> None:
    for name, age in (("old.jpg", 90_000), ("old.json", 90_000), ("new.jpg", 100), ("new.json", 100),
                      (".dead.tmp", 5000)):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (NOW - age, NOW - age))
    (tmp_path / "sub").mkdir()
    os.utime(tmp_path / "sub", (NOW - 90_000, NOW - 90_000))
    assert uk.prune(tmp_path, NOW, 86400.0) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.jpg", "new.json", "sub"]
    assert uk.prune(tmp_path / "missing", NOW, 60.0) == 0, "no folder (save never on): nothing to do, no error"
    assert not (tmp_path / "missing").exists(), "pruning never creates the folder"


def test_listing_hides_expired_crops_and_reads_metadata(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "a.json").write_text(json.dumps({"camera": "door", "face_px": 150, "sharpness": 212.5,
                                                 "first_seen": NOW - 30, "last_seen": NOW - 20}))
    (tmp_path / "b.jpg").write_bytes(b"x")
    (tmp_path / "b.json").write_text("{not json")
    (tmp_path / "c.jpg").write_bytes(b"x")
    os.utime(tmp_path / "a.jpg", (NOW - 10, NOW - 10))
    os.utime(tmp_path / "b.jpg", (NOW - 5, NOW - 5))
    os.utime(tmp_path / "c.jpg", (NOW - 7200, NOW - 7200))
    found = uk.listing(tmp_path, NOW, 3600.0)
    assert [e["id"] for e in found] == ["b", "a"], "newest first, the expired one not listed"
    assert found[1]["camera"] == "door" and found[1]["face_px"] == 150 and found[1]["sharpness"] == 212.5
    assert found[0]["camera"] is None, "broken metadata is blank, not an error"


# --- which crop, and when it is written ---------------------------------------------------------------------------


def test_the_best_shot_of_a_track_is_kept(tmp_path: Path) -> None:
    from facedaemon.faces.crops import face_sharpness

    sharp, soft = textured_frame(), textured_frame(blur=4)
    assert face_sharpness(sharp, BOX) > 3 * face_sharpness(soft, BOX)
    collector = wk.UnknownCollector(tmp_path, "door", "0a1b2c3d")
    stranger = track(7, UNKNOWN)
    collector.observe([see(stranger, soft)], {7}, now=0.0, frame_time=NOW)
    assert not list(tmp_path.glob("*.jpg")), "nothing before the face has been Unknown for a second"
    collector.observe([see(stranger, sharp)], {7}, now=0.5, frame_time=NOW + 0.5)
    collector.observe([see(stranger, soft)], {7}, now=1.5, frame_time=NOW + 1.5)
    (saved,) = tmp_path.glob("*.jpg")
    meta = json.loads(saved.with_suffix(".json").read_text())
    assert meta["camera"] == "door" and meta["face_px"] == 160 and meta["sharpness"] == pytest.approx(
        face_sharpness(sharp, BOX), abs=0.1), "the sharp frame's crop, not the later soft one"
    assert saved.name.startswith("door-20251125T") and uk.UNKNOWN_ID.match(saved.stem)
    assert oct(saved.stat().st_mode & 0o777) == "0o600"


def test_a_clearly_sharper_crop_replaces_the_saved_one_then_the_track_ends(tmp_path: Path) -> None:
    collector = wk.UnknownCollector(tmp_path, "door", "0a1b2c3d")
    stranger = track(3, UNKNOWN)
    collector.observe([see(stranger, textured_frame(blur=3))], {3}, now=0.0, frame_time=NOW)
    collector.observe([see(stranger, textured_frame(blur=3))], {3}, now=1.0, frame_time=NOW + 1)
    (first,) = tmp_path.glob("*.json")
    soft = json.loads(first.read_text())["sharpness"]
    collector.observe([see(stranger, textured_frame())], {3}, now=1.5, frame_time=NOW + 1.5)
    assert json.loads(first.read_text())["sharpness"] == soft, "rewrites are throttled (WRITE_INTERVAL)"
    collector.observe([], set(), now=1.6, frame_time=NOW + 1.6)  # the track ended
    assert json.loads(first.read_text())["sharpness"] > wk.BETTER_BY * soft, "the best is written at the end"
    assert len(list(tmp_path.glob("*.jpg"))) == 1, "one crop per track"
    assert collector.candidates == {}


def test_small_faces_and_named_faces_are_not_kept(tmp_path: Path) -> None:
    collector = wk.UnknownCollector(tmp_path, "door", "0a1b2c3d")
    small = track(1, UNKNOWN, (100, 150, 150, 100))  # 50 px: could never be enrolled
    known = track(2, "Ann")
    for second in range(3):
        collector.observe([see(small, textured_frame()), see(known, textured_frame())], {1, 2}, now=second,
                          frame_time=NOW + second)
    collector.close()
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_face_nobody_could_judge_yet_is_not_kept(tmp_path: Path) -> None:
    collector = wk.UnknownCollector(tmp_path, "door", "0a1b2c3d")
    undecided = see(Track(8, BOX, 0.0), textured_frame())  # a best shot, but no label yet: "face"
    for second in range(3):
        collector.observe([undecided], {8}, now=second, frame_time=NOW + second)
    collector.close()
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_track_that_turns_out_known_loses_its_crop(tmp_path: Path) -> None:
    collector = wk.UnknownCollector(tmp_path, "door", "0a1b2c3d")
    face = see(track(4, UNKNOWN), textured_frame())
    for second in (0.0, 1.2):
        collector.observe([face], {4}, now=second, frame_time=NOW + second)
    assert len(list(tmp_path.glob("*.jpg"))) == 1
    for _ in range(3):
        face.vote("Ann", 0.3, 0.95, 2.0)
    collector.observe([face], {4}, now=2.0, frame_time=NOW + 2)
    assert list(tmp_path.iterdir()) == []


def test_due_rules() -> None:
    kept = wk.Candidate("x", 100.0, 120, b"", NOW, NOW + 0.2)
    assert not wk.due(kept, 0.0) and wk.due(kept, 0.0, final=True)
    kept.last_seen = NOW + 1.0
    assert wk.due(kept, 0.0)
    kept.written_score, kept.written_at = 100.0, 0.0
    assert not wk.due(kept, 5.0, final=True), "nothing better than what is on disk"
    kept.score = 110.0
    assert not wk.due(kept, 5.0) and wk.due(kept, 5.0, final=True), "a little better: only at the end"
    kept.score = 130.0
    assert not wk.due(kept, 1.0) and wk.due(kept, 2.0), "clearly better: after the write interval"
    assert wk.better(kept, 131.0) and not wk.better(kept, 130.0)


# --- recent crops ("not this person") -----------------------------------------------------------------------------


def test_recent_faces_keep_a_crop_per_named_track(tmp_path: Path) -> None:
    folder = tmp_path / "recent" / "door"
    recent = RecentFaces(folder, "0a1b2c3d")
    recent.start()
    ann, stranger = track(1, "Ann"), track(2, UNKNOWN)
    recent.observe([ann, stranger], textured_frame(), NOW)
    (entry,) = read_index(tmp_path, "door")
    assert (entry.crop, entry.track, entry.name) == ("0a1b2c3d-1", 1, "Ann")
    assert crop_file(tmp_path, "door", entry.crop) is not None
    assert find_track(tmp_path, "door", 1) == entry and find_track(tmp_path, "door", 2) is None
    assert sorted(p.name for p in folder.iterdir()) == ["0a1b2c3d-1.jpg", "index.json"], "no crop of the stranger"
    for _ in range(3):
        ann.vote(UNKNOWN, 0.7, 0.1, 1.0)
    recent.observe([ann], textured_frame(), NOW + 1)
    assert read_index(tmp_path, "door") == [] and sorted(p.name for p in folder.iterdir()) == ["index.json"]
    recent.close()
    assert not folder.exists()


def test_the_recent_crop_is_the_best_shot_not_the_current_frame(tmp_path: Path) -> None:
    import cv2

    recent = RecentFaces(tmp_path / "recent" / "door", "0a1b2c3d")
    recent.start()
    ann = see(track(1, "Ann"), textured_frame())  # the best shot: sharp
    recent.observe([ann], textured_frame(blur=4), NOW)  # named while the face is soft
    (entry,) = read_index(tmp_path, "door")
    path = crop_file(tmp_path, "door", entry.crop)
    assert path is not None
    crop = cv2.imread(str(path))
    sharp, soft = (cv2.imdecode(np.frombuffer(cv2.imencode(".jpg", f[20:340, 20:340])[1], np.uint8), 1)
                   for f in (textured_frame(), textured_frame(blur=4)))
    assert np.abs(crop.astype(int) - sharp.astype(int)).mean() < np.abs(crop.astype(int) - soft.astype(int)).mean()


def test_recent_faces_are_bounded_and_forgotten_people_go(tmp_path: Path) -> None:
    recent = RecentFaces(tmp_path / "recent" / "door", "0a1b2c3d")
    recent.start()
    for i in range(RECENT_KEEP + 5):
        recent.observe([track(i + 1, "Ann" if i % 2 else "Bo")], textured_frame(), NOW + i)
    assert len(read_index(tmp_path, "door")) == RECENT_KEEP
    assert len(list((tmp_path / "recent" / "door").glob("*.jpg"))) == RECENT_KEEP
    recent.keep_people({"Ann"})
    assert {e.name for e in read_index(tmp_path, "door")} == {"Ann"}
    recent.observe([], textured_frame(), NOW + 10_000)  # all older than RECENT_SECONDS
    assert read_index(tmp_path, "door") == []


@pytest.mark.parametrize("crop", ["../x", "0a1b2c3d-1/../../x", "0A1B2C3D-1", "0a1b2c3d-1.jpg", "0a1b2c3d-1\n"])
def test_recent_crop_ids_are_checked(tmp_path: Path, crop: str) -> None:
    assert crop_file(tmp_path, "door", crop) is None


def test_recent_index_damage_reads_as_empty(tmp_path: Path) -> None:
    folder = tmp_path / "recent" / "door"
    folder.mkdir(parents=True)
    for content in (b"{", b"[]", b'{"entries": [{"crop": "../x", "track": 1, "name": "A", "confidence": 1, '
                    b'"time": 1}, 5, {"crop": "0a1b2c3d-1", "track": true, "name": "A", "confidence": 1, "time": 1}]}'):
        (folder / "index.json").write_bytes(content)
        assert read_index(tmp_path, "door") == []


# --- re-deciding after a gallery change ----------------------------------------------------------------------------


def test_redecide_replaces_old_votes_at_the_next_vote() -> None:
    face = track(1, "ChengHaoXie")
    for _ in range(4):
        face.vote("ChengHaoXie", 0.47, 0.8, 1.0)
    face.redecide()
    assert face.name == "ChengHaoXie" and face.last_encoded is None, "still shown until re-encoded"
    face.vote(UNKNOWN, 0.47, 0.0, 2.0)
    assert face.name == UNKNOWN and list(face.votes) == [Vote(UNKNOWN, 0.47, 0.0)]
    face.vote("ChengHaoXie", 0.47, 0.8, 3.0)
    assert len(face.votes) == 2, "only the one vote after the change was replaced"


# --- the setting ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("24h", 86400.0), ("30m", 1800.0), ("7d", 604800.0), ("2w", 1209600.0),
                                               ("90s", 90.0), ("1.5h", 5400.0), (" 12H ", 43200.0), (600, 600.0),
                                               (0.5, 0.5)])
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "24x", "1h30m", "-5m", True, None, "inf", [1]])
def test_parse_duration_refuses(text: object) -> None:
    with pytest.raises(ValueError, match="must be a duration such as 30m, 24h or 7d"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (86400, 5400, 3600, 90, 1.5, 604800)] == ["1d", "90m", "1h", "90s", "1.5s",
                                                                                   "1w"]


def config(unknowns: str) -> str:
    return "faces_dir: faces\nruntime_dir: run\ncameras:\n  door: {source: pattern}\n" + textwrap.dedent(unknowns)


def test_unknowns_config_defaults_and_the_issue_syntax() -> None:
    base = Path("/etc/facedaemon")
    off = load_text(config(""), source="c.yaml", base_dir=base)
    assert (off.unknowns.save, off.unknowns.retention, off.unknowns_dir) == (False, 86400.0, base / "faces/.unknowns")
    on = load_text(config("unknowns: {save: true, retention: 24h, dir: ../keep}\n"), source="c.yaml", base_dir=base)
    assert (on.unknowns.save, on.unknowns.retention, on.unknowns_dir) == (True, 86400.0, Path("/etc/keep"))


@pytest.mark.parametrize(("unknowns", "message"), [
    ("unknowns: {retention: 24x}", "c.yaml:5: unknowns.retention: must be a duration such as 30m, 24h or 7d"),
    ("unknowns: {retention: 0}", "c.yaml:5: unknowns.retention: must be greater than 0"),
    ("unknowns: {save: maybe}", "c.yaml:5: unknowns.save: must be true or false"),
    ("unknowns: {keep: true}", "c.yaml:5: unknowns.keep: unknown key 'keep'"),
])
def test_unknowns_config_errors_name_the_key(unknowns: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(config(unknowns + "\n"), source="c.yaml", base_dir=Path("/x"))
    assert str(caught.value).startswith(message)


def test_changing_unknowns_restarts_recognition_and_web_only() -> None:
    old = load_text(config(""), source="c.yaml", base_dir=Path("/x"))
    new = load_text(config("unknowns: {save: true}\n"), source="c.yaml", base_dir=Path("/x"))
    plan = plan_reload(old, new)
    assert plan.restart_worker and plan.restart_web
    assert not (plan.stop or plan.start or plan.restart_events or plan.restart_rtsp)
