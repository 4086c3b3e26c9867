"""Unknown faces in groups: the state file's rules (gallery/groups.py: merge, ignore, stop ignoring, listing, bad
ids) and the worker's keeper (worker/groups.py: assignment as crops arrive, crops gone leave, a regroup keeps ids and
the user's merges, an ignored group's faces are not kept), on a temporary folder with plain vectors. Against the
real daemon: tests/e2e/test_visitor_groups.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces.tracker import Track
from facedaemon.faces.types import FACE, UNKNOWN
from facedaemon.gallery import groups, unknowns
from facedaemon.gallery.groups import GroupsError, Member
from facedaemon.worker.groups import GroupKeeper

NOW = 1_765_000_000.0


def face(seed: int, look: int = 0) -> np.ndarray:
    centre = np.random.default_rng(seed).normal(0, 0.056, 128)
    return centre + np.random.default_rng(1000 * seed + look).normal(0, 0.02, 128)


def save_crop(folder: Path, uid: str, encoding: np.ndarray, score: float = 1.0, seen: float = NOW) -> Member:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"id": uid, "camera": "hall", "first_seen": seen, "last_seen": seen + 1, "face_px": 120,
            "sharpness": 90.0, "score": score, "encoding": [round(float(v), 5) for v in encoding]}
    (folder / f"{uid}.json").write_text(json.dumps(meta))
    (folder / f"{uid}.jpg").write_bytes(b"\xff\xd8\xff")
    return Member(seen, seen + 1, score, "hall")


def arrive(keeper: GroupKeeper, folder: Path, uid: str, encoding: np.ndarray, score: float = 1.0) -> None:
    keeper.add(uid, encoding, save_crop(folder, uid, encoding, score))


def members(folder: Path) -> list[set[str]]:
    return sorted((set(g.members) for g in groups.read_state(folder).groups.values() if g.members),
                  key=lambda s: sorted(s))


def test_crops_join_the_group_of_their_nearest_face_as_they_arrive(tmp_path: Path) -> None:
    keeper = GroupKeeper(tmp_path)
    for look in range(3):
        arrive(keeper, tmp_path, f"hall-a-{look}", face(1, look))
        arrive(keeper, tmp_path, f"hall-b-{look}", face(2, look))
    keeper.step(0.0, final=True)  # no regroup: assignment alone
    assert members(tmp_path) == [{"hall-a-0", "hall-a-1", "hall-a-2"}, {"hall-b-0", "hall-b-1", "hall-b-2"}]
    assert groups.group_of(tmp_path, "hall-a-0") == groups.group_of(tmp_path, "hall-a-2") is not None
    assert groups.group_of(tmp_path, "hall-a-0") != groups.group_of(tmp_path, "hall-b-0")
    assert groups.group_of(tmp_path, "hall-z-0") is None
    (tmp_path / "hall-a-1.jpg").unlink()  # deleted, assigned or expired
    keeper.step(10.0, final=True)
    assert members(tmp_path) == [{"hall-a-0", "hall-a-2"}, {"hall-b-0", "hall-b-1", "hall-b-2"}]
    for uid in ("hall-a-0", "hall-a-2"):
        unknowns.remove(tmp_path, uid)
    keeper.step(20.0, final=True)
    assert len(groups.read_state(tmp_path).groups) == 1, "a group left empty goes"


def test_crops_from_before_a_restart_are_read_back_and_grouped(tmp_path: Path) -> None:
    for look in range(2):
        save_crop(tmp_path, f"hall-a-{look}", face(1, look))
    (tmp_path / "hall-old-1.jpg").write_bytes(b"\xff\xd8\xff")  # no metadata: not grouped, not an error
    keeper = GroupKeeper(tmp_path)
    keeper.step(0.0)
    assert members(tmp_path) == [{"hall-a-0", "hall-a-1"}]


def test_a_regroup_keeps_ids_and_the_users_merge(tmp_path: Path) -> None:
    keeper = GroupKeeper(tmp_path)
    for look in range(3):
        arrive(keeper, tmp_path, f"hall-a-{look}", face(1, look))
        arrive(keeper, tmp_path, f"hall-c-{look}", face(3, look))
    keeper.step(0.0, final=True)
    state = groups.read_state(tmp_path)
    ids = {next(iter(g.members)).split("-")[1]: gid for gid, g in state.groups.items()}
    keeper.regroup(state)
    assert {gid: set(g.members) for gid, g in state.groups.items()} == {
        ids["a"]: {"hall-a-0", "hall-a-1", "hall-a-2"}, ids["c"]: {"hall-c-0", "hall-c-1", "hall-c-2"}}
    groups.write_state(tmp_path, state)
    merged = groups.merge(tmp_path, ids["a"], ids["c"])  # the user: the same person after all
    assert len(merged.members) == 6
    state = groups.read_state(tmp_path)
    keeper.regroup(state)
    assert list(state.groups) == [ids["a"]] and len(state.groups[ids["a"]].members) == 6


def test_an_ignored_group_keeps_encodings_loses_its_crops_and_keeps_new_ones_out(tmp_path: Path) -> None:
    keeper = GroupKeeper(tmp_path)
    for look in range(3):
        arrive(keeper, tmp_path, f"hall-p-{look}", face(4, look), score=look)
    keeper.step(0.0, final=True)
    (gid,) = groups.read_state(tmp_path).groups
    assert not keeper.ignores(face(4, 9))
    ignored = groups.ignore(tmp_path, gid)
    assert ignored.ignored and len(ignored.kept) == 3 and not list(tmp_path.glob("hall-p-*"))
    arrive(keeper, tmp_path, "hall-p-9", face(4, 9))  # saved before the worker heard of the ignore
    arrive(keeper, tmp_path, "hall-x-0", face(5, 0))
    generation = keeper.generation
    keeper.step(1.0, final=True)
    assert keeper.generation == generation + 1 and keeper.ignores(face(4, 10)) and not keeper.ignores(face(5, 1))
    assert not (tmp_path / "hall-p-9.jpg").exists(), "no crops of an ignored face"
    assert members(tmp_path) == [{"hall-x-0"}]
    listed = groups.listing(tmp_path, time.time(), 86400.0)
    assert [(g["ignored"], g["size"], g["kept"]) for g in listed] == [(False, 1, 0), (True, 0, 3)]
    with pytest.raises(GroupsError, match="ignored"):
        groups.merge(tmp_path, gid, listed[0]["id"])
    groups.unignore(tmp_path, gid)
    keeper.step(2.0, final=True)
    assert not keeper.ignores(face(4, 10)) and gid not in groups.read_state(tmp_path).groups


def test_the_listing_shows_the_best_shots_first_and_hides_expired_crops(tmp_path: Path) -> None:
    keeper = GroupKeeper(tmp_path)
    for look, score in enumerate((2.0, 5.0, 3.0)):
        arrive(keeper, tmp_path, f"hall-a-{look}", face(1, look), score)
    keeper.step(0.0, final=True)
    (group,) = groups.listing(tmp_path, time.time(), 86400.0)
    assert group["best"] == ["hall-a-1", "hall-a-2", "hall-a-0"] and group["size"] == 3
    assert group["first_seen"] == NOW and group["last_seen"] == NOW + 1 and group["cameras"] == ["hall"]
    assert groups.listing(tmp_path, time.time() + 10 * 86400.0, 86400.0) == [], "crops past retention are not listed"


@pytest.mark.parametrize("gid", ["../x", "g-XYZ", "g-123", "", "g-0123456789"])
def test_bad_group_ids_are_refused(tmp_path: Path, gid: str) -> None:
    with pytest.raises(GroupsError) as raised:
        groups.ignore(tmp_path, gid)
    assert raised.value.status == 404


def test_a_corrupt_state_file_is_no_groups_and_the_retention_sweep_keeps_it(tmp_path: Path) -> None:
    (tmp_path / unknowns.GROUPS_FILE).write_text("{not json")
    assert groups.read_state(tmp_path).groups == {}
    groups.write_state(tmp_path, groups.GroupState())
    (tmp_path / unknowns.GROUPS_LOCK).write_text("")
    assert unknowns.prune(tmp_path, time.time() + 10 * 86400.0, 86400.0) == 0
    assert (tmp_path / unknowns.GROUPS_FILE).exists() and (tmp_path / unknowns.GROUPS_LOCK).exists()


def test_an_ignored_track_reads_face_until_a_person_is_matched() -> None:
    track = Track(1, (0, 10, 10, 0), 0.0, label=UNKNOWN)
    track.ignore(1.0)
    assert track.ignored and track.label == FACE and not track.votes and track.last_encoded == 1.0
    track.vote("Joe", 0.3, 0.9, 2.0)
    assert track.label == "Joe"


def test_many_crops_found_at_once_are_sorted_by_one_regroup(tmp_path: Path) -> None:
    """A restart that finds 250 crops in no group (the groups file lost): one regroup, not 250 assignments."""
    for seed in range(25):
        for look in range(10):
            save_crop(tmp_path, f"hall-{seed}-{look}", face(seed + 10, look))
    keeper = GroupKeeper(tmp_path)
    keeper.step(0.0)
    found = members(tmp_path)
    assert len(found) == 25 and all(len({uid.split("-")[1] for uid in group}) == 1 for group in found)


def test_a_busy_lock_delays_the_grouping_but_loses_no_crop(tmp_path: Path) -> None:
    keeper = GroupKeeper(tmp_path)
    save_crop(tmp_path, "hall-a-0", face(1, 0), score=7.0)
    keeper.add("hall-a-0", face(1, 0), Member(NOW, NOW + 1, 9.0, "hall"))  # a better shot than the metadata says
    with groups.state_lock(tmp_path), pytest.raises(GroupsError, match="being changed"):
        keeper.step(0.0, final=True)  # a web change holds the lock past the keeper's 1 s
    keeper.step(0.5, final=True)
    (group,) = groups.read_state(tmp_path).groups.values()
    assert group.members["hall-a-0"].score == 9.0, "the arrival itself, not only the crop found on disk"


def test_the_worker_judges_an_ignored_face_as_face_and_looks_again_when_the_list_changes(tmp_path: Path) -> None:
    """RecognitionChild.judge and follow_ignored with a real keeper (no models: the match is given)."""
    from facedaemon.config.models import RecognitionConfig
    from facedaemon.faces.matcher import Match
    from facedaemon.faces.tracker import Tracker
    from facedaemon.worker.child import ChildCamera, RecognitionChild
    from facedaemon.worker.protocol import ChildSettings

    keeper = GroupKeeper(tmp_path)
    keeper.ignored = face(4, 0).astype(np.float32).reshape(1, 128)
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()), groups=keeper)
    poster, stranger = Track(1, (0, 10, 10, 0), 0.0), Track(2, (0, 10, 10, 0), 0.0, label=UNKNOWN)
    look = None  # not reached for an ignored face: no ballot is cast
    child.judge(poster, look, Match(UNKNOWN, 0.8, 0.1), face(4, 1), 1.0)
    assert poster.ignored and poster.label == FACE
    child.cameras["hall"] = ChildCamera(Tracker(tracks=[poster, stranger]))
    keeper.generation += 1  # the list changed (here: the poster no longer ignored)
    child.follow_ignored()
    assert not poster.ignored and poster.stale and poster.last_encoded is None
    assert stranger.stale and stranger.last_encoded is None, "an Unknown face is judged afresh too"


def test_a_group_named_by_another_process_wakes_the_workers_gallery_reload(tmp_path: Path) -> None:
    """"This is …" writes the photos, then drops the group from the state file (gallery/groups.py name_group): the
    keeper's next look sees the file changed by someone else and the worker reloads at once (child.gallery_hinted),
    not at its next gallery poll. The keeper's own writes wake nothing."""
    from facedaemon.config.models import RecognitionConfig
    from facedaemon.worker.child import RecognitionChild
    from facedaemon.worker.protocol import ChildSettings

    keeper = GroupKeeper(tmp_path)
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()), groups=keeper)
    for look in range(2):
        arrive(keeper, tmp_path, f"hall-a-{look}", face(1, look))
    keeper.step(0.0, final=True)
    arrive(keeper, tmp_path, "hall-a-2", face(1, 2))
    keeper.step(0.5, final=True)
    assert not child.gallery_hinted(), "the keeper's own writes are no reason to reload"
    (gid,) = groups.read_state(tmp_path).groups
    with groups.changing(tmp_path) as state:  # as name_group does once the photos are enrolled
        state.groups.pop(gid)
    keeper.step(1.0, final=True)
    assert child.gallery_hinted() and not child.gallery_hinted(), "one reload for one change"
