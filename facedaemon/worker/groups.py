"""The recognition worker's side of the unknown-face groups (the state and what users do: gallery/groups.py; the
rule: faces/grouping.py).

One GroupKeeper per worker while `unknowns.save` is on, owned by the RecognitionChild (started after the models
load, stopped in close() within STOP_WAIT). Its thread:

- assigns each crop the worker saves (add(), from worker/unknowns.py) to the group of its nearest member, within
  TICK of the write; a crop near an ignored group's kept encodings is deleted (no crops of an ignored face);
- follows the crops on disk: crops deleted, assigned or expired leave their groups (every SYNC_SECONDS, or at once
  when another process changed the state file); crops from before a restart are read back with their encodings;
- regroups every member afresh at most every REGROUP_SECONDS when something changed (10,000 faces take ~2 s on
  one loaded core, docs/performance.md, mostly in numpy, which lets the recognition thread run meanwhile);
- publishes the ignored groups' encodings (`ignored`, swapped whole, and `generation`, bumped on each change) for
  the recognition thread (child.py), which shows such faces as the neutral "face";
- sets `outside_change` when another process changed the state file: "This is …" (gallery/groups.py name_group)
  writes the group's photos into the gallery first and then drops the group from that file, so the recognition
  thread reloads the gallery at once instead of at its next poll (the name on the stream within a second or two).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from pathlib import Path

import numpy as np

from facedaemon.faces import grouping
from facedaemon.gallery import groups, unknowns
from facedaemon.gallery.groups import Group, GroupState, Member

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between looks at new crops and at the state file
SYNC_SECONDS = 5.0  # crops gone from disk leave their groups at least this often
REGROUP_SECONDS = 60.0  # a full regroup at most this often (and only after a change)
MANY_NEWCOMERS = 200  # more crops than this to group at once: left to the regroup (one pass, not one each)
STOP_WAIT = 5.0  # seconds close() waits for the thread (a regroup under way finishes first)


class GroupKeeper:
    def __init__(self, folder: Path, threshold: float = grouping.GROUP_DISTANCE) -> None:
        self.folder = folder
        self.threshold = threshold
        self.ignored = np.empty((0, grouping.ENCODING_SIZE), dtype=np.float32)
        self.generation = 0  # bumped whenever `ignored` changes
        self._encodings: dict[str, np.ndarray] = {}  # crop id -> its encoding (read once per crop)
        self._arrivals: queue.SimpleQueue[tuple[str, np.ndarray, Member]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_file: tuple[int, int, int] | None = None  # the state file as we last read or wrote it
        self._next_sync = 0.0  # monotonic
        self._next_regroup = 0.0
        self._dirty = True  # members changed since the last regroup
        self._ignored_key: tuple = ()
        self._unreadable: set[str] = set()  # crops without an encoding in their metadata: not grouped
        self.outside_change = threading.Event()  # the state file changed under us (named, merged, ignored by a user)

    # --- owner's side (the recognition child) ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="unknown-groups", daemon=True)
        self._thread.start()

    def stop(self, wait: float = STOP_WAIT) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)
            if self._thread.is_alive():
                log.warning("unknowns: the grouping thread did not stop within %.0f s; leaving it", wait)

    def add(self, uid: str, encoding: np.ndarray, member: Member) -> None:
        """A crop was saved (or replaced by a better one): group it soon."""
        self._arrivals.put((uid, np.asarray(encoding, dtype=np.float32).reshape(grouping.ENCODING_SIZE), member))

    def ignores(self, encoding: np.ndarray) -> bool:
        return grouping.covered(self.ignored, encoding, self.threshold)

    # --- the thread ---------------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            self._guarded(time.monotonic())
        self._guarded(time.monotonic(), final=True)  # crops saved while stopping are grouped too

    def _guarded(self, now: float, final: bool = False) -> None:
        try:
            self.step(now, final)
        except groups.GroupsError as exc:  # the lock is busy (a long web change): the next tick tries again
            log.info("unknowns: groups not updated this time: %s", exc)
        except OSError as exc:
            log.warning("unknowns: cannot update the groups in %s: %s", self.folder, exc)
        except Exception:  # a bug here must not stop recognition; the next tick tries again
            log.exception("unknowns: grouping failed")

    def step(self, now: float, final: bool = False) -> None:
        arrivals = _drain(self._arrivals)
        stamp = self._file_stamp()
        if stamp != self._seen_file and self._seen_file is not None:
            self.outside_change.set()
        if not arrivals and now < self._next_sync and stamp == self._seen_file:
            return
        self._next_sync = now + SYNC_SECONDS
        try:
            self._update(now, final, arrivals)
        except BaseException:
            for arrival in arrivals:  # not lost: the next tick tries them again
                self._arrivals.put(arrival)
            raise

    def _update(self, now: float, final: bool, arrivals: list[tuple[str, np.ndarray, Member]]) -> None:
        with groups.state_lock(self.folder, wait=1.0):
            state = groups.read_state(self.folder)
            before = state.to_json()
            on_disk = {uid for uid, _ in unknowns._crops(self.folder)}
            self.apply(state, on_disk, arrivals)
            if self._dirty and now >= self._next_regroup and not final:
                self.regroup(state)
                self._next_regroup, self._dirty = now + REGROUP_SECONDS, False
            if state.to_json() != before:
                groups.write_state(self.folder, state)
            self._seen_file = self._file_stamp()
        self._publish_ignored(state)

    def apply(self, state: GroupState, on_disk: set[str], arrivals: list[tuple[str, np.ndarray, Member]]) -> None:
        """Members whose crop is gone leave; arrivals (and crops on disk in no group) join a group."""
        for group in state.groups.values():
            gone = [uid for uid in group.members if uid not in on_disk]
            for uid in gone:
                del group.members[uid]
            self._dirty |= bool(gone)
        self._encodings = {uid: e for uid, e in self._encodings.items() if uid in on_disk}
        owner = state.owner()
        newcomers: dict[str, Member] = {}
        for uid, encoding, member in arrivals:
            if uid not in on_disk:
                continue
            self._encodings[uid] = encoding
            if uid in owner:
                state.groups[owner[uid]].members[uid] = member  # a better crop of the same track
            else:
                newcomers[uid] = member
        self._unreadable &= on_disk
        for uid in sorted(on_disk - owner.keys() - newcomers.keys() - self._unreadable):
            found = self._read_back(uid)
            if found is not None:
                newcomers[uid] = found
        self._join(state, sorted(newcomers.items(), key=lambda item: item[1].first_seen))
        state.groups = {gid: g for gid, g in state.groups.items() if g.members or g.ignored}
        present = state.owner()
        state.pins = [kept for pin in state.pins if len(kept := [u for u in pin if u in present]) > 1]

    def _join(self, state: GroupState, newcomers: list[tuple[str, Member]]) -> None:
        """Each newcomer into the group of its nearest member (the earlier newcomers included), or a new group; a
        face near an ignored group's kept encodings loses its crop. Many at once (a restart that found the groups
        file gone): each its own group, and the regroup this step sorts them."""
        if not newcomers:
            return
        kept = grouping.as_matrix([row for g in state.groups.values() if g.ignored for row in g.kept])
        rows = [(gid, u) for gid, g in state.groups.items() if not g.ignored for u in g.members if u in self._encodings]
        matrix = np.empty((len(rows) + len(newcomers), grouping.ENCODING_SIZE), dtype=np.float32)
        matrix[:len(rows)] = grouping.as_matrix([self._encodings[u] for _, u in rows])
        owners = [gid for gid, _ in rows]
        alone = len(newcomers) > MANY_NEWCOMERS
        self._next_regroup = 0.0 if alone else self._next_regroup
        for uid, member in newcomers:
            encoding = self._encodings[uid]
            if len(kept) and grouping.covered(kept, encoding, self.threshold):
                with contextlib.suppress(unknowns.UnknownsError, OSError):
                    unknowns.remove(self.folder, uid)
                log.info("unknowns: crop %s deleted: the face belongs to an ignored group", uid)
                continue
            gid = None if alone else grouping.assign(matrix[:len(owners)], owners, encoding, self.threshold)
            if gid is None:
                gid = groups.new_group_id()
                state.groups[gid] = Group(gid)
            state.groups[gid].members[uid] = member
            matrix[len(owners)] = encoding
            owners.append(gid)
            self._dirty = True
            if not alone:
                log.info("unknowns: crop %s %s group %s", uid,
                         "starts" if len(state.groups[gid].members) == 1 else "joins", gid)

    def _read_back(self, uid: str) -> Member | None:
        """A crop saved before this worker started: its encoding and times from its metadata."""
        path = unknowns.unknown_file(self.folder, uid, ".json")
        try:
            data = json.loads(path.read_bytes()[:unknowns.MAX_META_BYTES]) if path is not None else None
        except (OSError, ValueError):
            return None
        encoding = unknowns.encoding_of(self.folder, uid)
        if not isinstance(data, dict) or encoding is None:
            self._unreadable.add(uid)  # a crop from before encodings were kept: not grouped
            return None
        member = Member.from_json([data.get("first_seen"), data.get("last_seen"), data.get("score", 0.0),
                                   data.get("camera")])
        if member is None:
            self._unreadable.add(uid)
            return None
        self._encodings[uid] = np.asarray(encoding, dtype=np.float32)
        return member

    def regroup(self, state: GroupState) -> None:
        """Every member clustered afresh (faces/grouping.py); ids kept where the groups overlap."""
        old = {gid: list(g.members) for gid, g in state.groups.items() if not g.ignored}
        info = {uid: m for g in state.groups.values() for uid, m in g.members.items()}
        order = [uid for members in old.values() for uid in members if uid in self._encodings]
        if not order:
            return
        started = time.perf_counter()
        labels = grouping.cluster(grouping.as_matrix([self._encodings[u] for u in order]), self.threshold)
        clusters = grouping.honour_pins(grouping.partition(order, labels), state.pins)
        loose = [[uid] for members in old.values() for uid in members if uid not in self._encodings]
        fresh = grouping.stable_ids(old, clusters + loose, groups.new_group_id)
        ignored = {gid: g for gid, g in state.groups.items() if g.ignored}
        state.groups = {**ignored, **{gid: Group(gid, {u: info[u] for u in members})
                                      for gid, members in fresh.items()}}
        log.info("unknowns: regrouped %d faces into %d groups in %.2f s", len(order), len(fresh),
                 time.perf_counter() - started)

    def _publish_ignored(self, state: GroupState) -> None:
        ignored = sorted((gid, len(g.kept)) for gid, g in state.groups.items() if g.ignored)
        key = tuple(ignored)
        if key == self._ignored_key:
            return
        rows = [row for gid, _ in ignored for row in state.groups[gid].kept]
        self.ignored = grouping.as_matrix(rows) if rows else np.empty((0, grouping.ENCODING_SIZE), np.float32)
        self._ignored_key = key
        self.generation += 1
        log.info("unknowns: %d ignored group(s), %d encodings", len(ignored), len(rows))

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = (self.folder / unknowns.GROUPS_FILE).stat()
        except OSError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns


def _drain(arrivals: queue.SimpleQueue) -> list:
    found = []
    with contextlib.suppress(queue.Empty):
        while True:
            found.append(arrivals.get_nowait())
    return found
