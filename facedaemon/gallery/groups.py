"""Unknown faces in groups, one group per stranger: the state file and what users do with a group.

The recognition worker assigns each saved crop to a group as it arrives and regroups in the background
(worker/groups.py, the grouping rule in faces/grouping.py). The state is `<unknowns dir>/groups.json`, replaced
atomically under `groups.lock` (an flock every writer takes: the worker, the web app's workers and the CLI):

    {"version": 1, "groups": {"g-3fa2b1c4": {"members": {"<crop id>": [first_seen, last_seen, score, camera]},
                                             "ignored": false, "kept": [[128 numbers], ...]}},
     "pins": [["<crop id>", ...], ...]}

A member is a saved crop (gallery/unknowns.py), whose .json also holds its encoding; members whose crop is gone
(deleted, assigned, past `unknowns.retention`) leave their group, and a group left empty goes. Users:

- **name** a group ("This is …"): its best crops are enrolled one by one through the same checks as any
  enrolment (gallery/edit.py), then every crop of the group is deleted and the group goes;
- **merge** two groups: one group from then on, also across regroups (a pin: the user's word beats distances);
- **ignore** a group (a poster, a presenter on TV): up to KEEP_IGNORED encodings are kept in the state (numbers,
  no picture), its crops are deleted, and the worker shows a face near them as the neutral "face": no Unknown
  label, event or crop. Stop ignoring deletes the group and its kept encodings.

No numpy here: the web app imports this module (tests/integration/test_import_cost.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import write_atomic
from facedaemon.gallery import locks, unknowns
from facedaemon.gallery.layout import EnrollError, check_name

if TYPE_CHECKING:
    from facedaemon.gallery.settings import GallerySettings

log = logging.getLogger(__name__)

VERSION = 1
GROUP_ID = re.compile(r"^g-[0-9a-f]{8}\Z")
KEEP_IGNORED = 20  # encodings an ignored group keeps: enough looks to cover the poster's angles
NAME_BEST = 5  # crops "This is …" enrols: the best by shot score, each checked like an upload
BEST_SHOWN = 4  # best shots per group in the listing
LOCK_WAIT = 30.0  # seconds a change waits for another (a regroup of 10,000 takes a few seconds)


class GroupsError(Exception):
    """A request about a group that cannot be carried out; status is the HTTP answer."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Member:
    first_seen: float
    last_seen: float
    score: float  # the crop's shot score (quality.shot_score): the best are shown and enrolled first
    camera: str

    def to_json(self) -> list:
        return [round(self.first_seen, 3), round(self.last_seen, 3), round(self.score, 4), self.camera]

    @classmethod
    def from_json(cls, data: object) -> Member | None:
        if (isinstance(data, list) and len(data) == 4 and all(isinstance(v, int | float) for v in data[:3])
                and isinstance(data[3], str)):
            return cls(float(data[0]), float(data[1]), float(data[2]), data[3])
        return None


@dataclass
class Group:
    id: str
    members: dict[str, Member] = field(default_factory=dict)
    ignored: bool = False
    kept: list[list[float]] = field(default_factory=list)  # an ignored group's encodings


@dataclass
class GroupState:
    groups: dict[str, Group] = field(default_factory=dict)
    pins: list[list[str]] = field(default_factory=list)  # members the user merged: one group whatever the distances

    def owner(self) -> dict[str, str]:
        return {uid: group.id for group in self.groups.values() for uid in group.members}

    def to_json(self) -> dict:
        return {"version": VERSION, "pins": self.pins, "groups": {
            gid: {"members": {uid: m.to_json() for uid, m in g.members.items()}, "ignored": g.ignored,
                  "kept": g.kept} for gid, g in self.groups.items()}}

    @classmethod
    def from_json(cls, data: object) -> GroupState:
        state = cls()
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return state
        for gid, raw in (data.get("groups") or {}).items():
            if not GROUP_ID.match(str(gid)) or not isinstance(raw, dict):
                continue
            members = {uid: m for uid, value in (raw.get("members") or {}).items()
                       if unknowns.UNKNOWN_ID.match(str(uid)) and (m := Member.from_json(value)) is not None}
            kept = [row for row in raw.get("kept") or [] if isinstance(row, list) and len(row) == 128]
            state.groups[gid] = Group(gid, members, raw.get("ignored") is True, kept)
        state.pins = [[str(u) for u in pin] for pin in data.get("pins") or [] if isinstance(pin, list)]
        return state


def new_group_id() -> str:
    return f"g-{secrets.token_hex(4)}"


def check_group_id(gid: str) -> str:
    if not GROUP_ID.match(gid):
        raise GroupsError(f"invalid group id {gid!r}", 404)
    return gid


# --- the state file -----------------------------------------------------------------------------------------------


def read_state(folder: Path) -> GroupState:
    """The groups on disk; a missing or unreadable file is no groups (said once in the log when unreadable)."""
    path = folder / unknowns.GROUPS_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return GroupState()
    except (OSError, ValueError) as exc:
        log.warning("unknowns: cannot read %s (%s); starting the groups afresh", path, exc)
        return GroupState()
    return GroupState.from_json(data)


def write_state(folder: Path, state: GroupState) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(folder / unknowns.GROUPS_FILE, json.dumps(state.to_json(), separators=(",", ":")).encode())


@contextlib.contextmanager
def state_lock(folder: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Serialise read-change-write of the state across processes (gallery/locks.py: a web worker keeps serving
    others while the worker regroups)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with locks.held(folder / unknowns.GROUPS_LOCK, wait, GroupsError("the groups are being changed; try again", 409)):
        yield


@contextlib.contextmanager
def changing(folder: Path) -> Iterator[GroupState]:
    """The state, locked; written back when the block ends without an exception."""
    with state_lock(folder):
        state = read_state(folder)
        yield state
        write_state(folder, state)


# --- reading (web app, CLI) ----------------------------------------------------------------------------------------


def present(folder: Path, now: float, retention: float) -> set[str]:
    """Crops on disk and within retention."""
    return {uid for uid, mtime in unknowns._crops(folder) if now - mtime <= retention}


def summary(group: Group, fresh: set[str]) -> dict:
    members = {uid: m for uid, m in group.members.items() if uid in fresh}
    best = sorted(members, key=lambda uid: (-members[uid].score, uid))[:BEST_SHOWN]
    return {"id": group.id, "size": len(members), "ignored": group.ignored, "kept": len(group.kept),
            "first_seen": min((m.first_seen for m in members.values()), default=None),
            "last_seen": max((m.last_seen for m in members.values()), default=None),
            "cameras": sorted({m.camera for m in members.values()}), "best": best}


def listing(folder: Path, now: float, retention: float) -> list[dict]:
    """Groups with a crop within retention (and ignored groups), most recently seen first."""
    fresh = present(folder, now, retention)
    found = [summary(g, fresh) for g in read_state(folder).groups.values()]
    found = [g for g in found if g["size"] or g["ignored"]]
    return sorted(found, key=lambda g: (not g["ignored"], g["last_seen"] or 0.0), reverse=True)


def group_of(folder: Path, uid: str) -> str | None:
    """The group a saved crop (worker/unknowns.py unknown_id: <camera>-<UTC time>-<run>-<track>) is in now, for a
    visit's group column; None until the worker has grouped it (within a second of the crop's write)."""
    return read_state(folder).owner().get(uid)


def _get(state: GroupState, gid: str) -> Group:
    group = state.groups.get(check_group_id(gid))
    if group is None:
        raise GroupsError(f"no group {gid!r} (named, merged, ignored and removed, or its faces expired)")
    return group


# --- what users do ---------------------------------------------------------------------------------------------------


def merge(folder: Path, gid: str, other: str) -> Group:
    """`other`'s faces join `gid` for good (a pin keeps them together across regroups)."""
    check_group_id(gid), check_group_id(other)
    if gid == other:
        raise GroupsError("a group cannot be merged with itself", 400)
    with changing(folder) as state:
        into, gone = _get(state, gid), _get(state, other)
        if into.ignored or gone.ignored:
            raise GroupsError("an ignored group cannot be merged: stop ignoring it first", 409)
        into.members.update(gone.members)
        del state.groups[other]
        state.pins = [pin for pin in state.pins if not set(pin) & set(into.members)]
        state.pins.append(sorted(into.members))
    log.info("unknowns: merged group %s into %s (%d faces)", other, gid, len(into.members))
    return into


def ignore(folder: Path, gid: str) -> Group:
    """Keep the group's best encodings, delete its crops: the worker shows such a face as "face" from now on."""
    check_group_id(gid)
    with changing(folder) as state:
        group = _get(state, gid)
        if group.ignored:
            return group
        order = sorted(group.members, key=lambda uid: -group.members[uid].score)
        kept = [e for uid in order if (e := unknowns.encoding_of(folder, uid)) is not None][:KEEP_IGNORED]
        if not kept:
            raise GroupsError(f"group {gid!r} has no face left to recognise it by", 409)
        group.kept = [[round(v, 5) for v in row] for row in kept]
        group.ignored = True
        for uid in group.members:
            with contextlib.suppress(unknowns.UnknownsError):
                unknowns.remove(folder, uid)
        group.members = {}
    log.info("unknowns: group %s ignored (%d encodings kept, its crops deleted)", gid, len(group.kept))
    return group


def unignore(folder: Path, gid: str) -> None:
    """Stop ignoring: the group and its kept encodings are deleted."""
    check_group_id(gid)
    with changing(folder) as state:
        group = _get(state, gid)
        if not group.ignored:
            raise GroupsError(f"group {gid!r} is not ignored", 409)
        del state.groups[gid]
    log.info("unknowns: group %s no longer ignored (deleted)", gid)


@dataclass
class NameReport:
    group: str
    name: str
    added: list[str] = field(default_factory=list)  # photos written, relative to faces_dir
    refused: list[str] = field(default_factory=list)  # "<crop>: why"
    removed: int = 0  # crops of the group deleted


# After naming: (group id, person, each member's (camera, first_seen)) -> the group's visits become that person's.
# The caller passes the visit history's (history/, a floor this module may not import).
Relabel = Callable[[str, str, list[tuple[str, float]]], None]


def name_group(gallery: GallerySettings, folder: Path, gid: str, name: str, now: float, retention: float,
               best: int = NAME_BEST, relabel: Relabel | None = None) -> NameReport:
    """"This is …": enrol the group's best crops as `name` (new or existing), one by one through the enrolment
    checks, until `best` are in; then delete every crop of the group and the group, and let `relabel` turn the
    group's visits into that person's. Nothing accepted: 422, the group stays."""
    from facedaemon.gallery import edit

    check_group_id(gid), check_name(name)
    fresh = present(folder, now, retention)
    group = _get(read_state(folder), gid)
    if group.ignored:
        raise GroupsError(f"group {gid!r} is ignored: stop ignoring it first", 409)
    order = sorted((uid for uid in group.members if uid in fresh), key=lambda uid: -group.members[uid].score)
    report = NameReport(gid, name)
    for uid in order:
        if len(report.added) >= best:
            break
        path = unknowns.unknown_file(folder, uid)
        try:
            data = path.read_bytes() if path is not None else None
        except OSError:
            data = None
        if data is None:
            continue  # deleted or expired meanwhile
        try:
            written, _ = edit.enroll(gallery, name, [(f"{uid}.jpg", data)])
        except EnrollError as exc:
            if exc.status == 409:
                raise
            report.refused.append(f"{uid}: {exc}")
            continue
        report.added.extend(written)
    if not report.added:
        raise GroupsError("no face of the group could be enrolled: " + "; ".join(report.refused or ["none left"]),
                          422)
    with changing(folder) as state:
        named = state.groups.pop(gid, group)
        members = set(order) | set(named.members)
        state.pins = [pin for pin in state.pins if not set(pin) & members]
    for uid in members:
        with contextlib.suppress(unknowns.UnknownsError):
            report.removed += unknowns.remove(folder, uid)
    if relabel is not None:
        relabel(gid, name, [(m.camera, m.first_seen) for m in {**group.members, **named.members}.values()])
    log.info("unknowns: group %s named (%d photos enrolled, %d crops deleted)", gid, len(report.added),
             report.removed)  # no name: the journal outlives an erasure
    return report
