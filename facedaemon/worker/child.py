"""The recognition child process: loads the models and gallery, then serves one frame request at a time.

Messages are in protocol.py, the entry point the parent spawns in entry.py.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import queue
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from facedaemon import yuv
from facedaemon.faces import engine
from facedaemon.faces.boxes import focus_region, search_regions
from facedaemon.faces.crops import shot_of
from facedaemon.faces.detect import REGION_MARGIN, TileMemory
from facedaemon.faces.matcher import KnownFaces, Match, match_many, runner_up
from facedaemon.faces.negatives import Negatives, apply_negatives
from facedaemon.faces.quality import (
    ENCODE_MIN_PX,
    LiveQuality,
    judgeable,
    live_quality,
    not_judgeable,
    pose_from_keypoints,
    pose_from_landmarks5,
    shot_score,
)
from facedaemon.faces.tracker import (
    RUNNER_UP_REACH,
    Track,
    Tracker,
    all_tracks_looked_at,
    ballot,
    offer_shot,
    wants_encoding,
)
from facedaemon.faces.types import FACE, UNKNOWN, Box, FaceResult, RecognitionResult, is_person
from facedaemon.gallery.layout import GalleryError
from facedaemon.gallery.load import load_gallery_with_negatives
from facedaemon.gallery.watch import describe_changes, snapshot
from facedaemon.history.shots import ShotReporter
from facedaemon.history.visits import Thumb
from facedaemon.runtime.recent import RecentFaces, camera_folder
from facedaemon.worker import identify_faces, identify_server
from facedaemon.worker.groups import GroupKeeper
from facedaemon.worker.protocol import ChildSettings, Request
from facedaemon.worker.schedule import FULL_SCAN_SECONDS, EncodedLook, encode_due
from facedaemon.worker.unknowns import UnknownCollector

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often an idle child checks that its parent is still there
GALLERY_POLL_SECONDS = 2.0  # faces_dir is stat-walked this often; a change reloads (only new photos are encoded)
RELOAD_MAX_ENCODE = 16  # new photos encoded per reload (~0.5 s each), well inside the parent's stall limit
# While every face is followed, the whole frame is scanned every schedule.FULL_SCAN_SECONDS (newcomers), and in
# between only around each tracked face (grown by REGION_MARGIN × its size on each side).
HINT_MARGIN = 0.5  # a frame sent because the picture changed: detect around the change, grown by this …
HINT_MIN_SHARE = 1 / 3  # … and to at least this share of the frame's width and height


@dataclass
class ChildCamera:
    tracker: Tracker
    shape: tuple[int, int, int] | None = None
    last_full_scan: float | None = None  # monotonic
    recent: RecentFaces | None = None
    unknowns: UnknownCollector | None = None
    crop_failed: bool = False  # a crop could not be written (disk full): said once, not every frame
    shots: ShotReporter | None = None  # thumbnails for the visit history
    tiles: TileMemory = field(default_factory=TileMemory)  # the BlazeFace tiles last seen, reused while unchanged
    encoded: dict[int, EncodedLook] = field(default_factory=dict)  # each live track's look at its last encoding


@dataclass
class RecognitionChild:
    settings: ChildSettings
    known: KnownFaces = field(default_factory=KnownFaces)
    negatives: Negatives = field(default_factory=Negatives)
    cameras: dict[str, ChildCamera] = field(default_factory=dict)
    blocks: dict[str, shared_memory.SharedMemory] = field(default_factory=dict)
    thumbs: list[Thumb] = field(default_factory=list)  # taken by _serve after each result
    groups: GroupKeeper | None = None  # unknown faces' groups, while unknowns.save is on
    ignored_seen: int = 0  # the groups' ignored generation the tracks were last re-decided for
    # a frame, a gallery reload or one step of an identify photo at a time, in turn (identify_server)
    busy: identify_server.FairLock = field(default_factory=identify_server.FairLock)

    def identify(self, data: bytes) -> dict:
        """A still photo's faces against the live gallery (POST /api/identify), step by step between frames."""
        return identify_faces.identify(data, self.known, self.negatives, self.settings.recognition,
                                       lambda: self.busy)

    def frame(self, request: Request) -> np.ndarray:
        """The request's frame in BGR (the parent sends I420 and does not touch that block until we answer)."""
        view = self._view(request)
        try:
            return yuv.to_bgr(view)
        finally:
            del view  # no view may outlive the block (close() would fail)

    def _view(self, request: Request) -> np.ndarray:
        block = self.blocks.get(request.camera)
        if block is None or block.name != request.shm_name:
            if block is not None:
                block.close()
            block = shared_memory.SharedMemory(name=request.shm_name)
            self.blocks[request.camera] = block
        return np.ndarray(request.shape, dtype=np.uint8, buffer=block.buf)

    def camera(self, request: Request) -> ChildCamera:
        state = self.cameras.get(request.camera)
        if state is None or state.shape != request.shape:
            # A new resolution makes old boxes meaningless: start the camera's tracks afresh.
            if state is not None:
                self._close_crops(request.camera, state)
            state = ChildCamera(Tracker(expire_seconds=self.settings.expire_seconds), request.shape)
            self._open_crops(request.camera, state)
            self.cameras[request.camera] = state
        return state

    def _open_crops(self, camera: str, state: ChildCamera) -> None:
        run = secrets.token_hex(4)  # track ids start at 1 again with this tracker: keep crop ids unique
        if self.settings.runtime_dir is not None:
            state.recent = RecentFaces(camera_folder(self.settings.runtime_dir, camera), run)
            self._guard_crops(camera, state, state.recent.start)
        if self.settings.unknowns_dir is not None:
            state.unknowns = UnknownCollector(self.settings.unknowns_dir, camera, run, groups=self.groups)
        if self.settings.history:
            state.shots = ShotReporter(camera)

    def _close_crops(self, camera: str, state: ChildCamera) -> None:
        if state.unknowns is not None:
            self._guard_crops(camera, state, state.unknowns.close)
        if state.recent is not None:
            state.recent.close()

    def keep_crops(self, camera: str, state: ChildCamera, tracks: list[Track], frame: np.ndarray,
                   frame_time: float, now: float) -> None:
        """Crops for "not this person" and, when enabled, of unknown faces (see recent.py and unknowns.py)."""
        if state.recent is not None:
            self._guard_crops(camera, state, state.recent.observe, tracks, frame, frame_time)
        if state.unknowns is not None:
            live = {t.id for t in state.tracker.tracks}
            self._guard_crops(camera, state, state.unknowns.observe, tracks, live, now, frame_time)

    @staticmethod
    def _guard_crops(camera: str, state: ChildCamera, write: Callable[..., None], *args: Any) -> None:
        # A full disk or a removed folder costs the crops, never the recognition.
        try:
            write(*args)
        except OSError as exc:
            if not state.crop_failed:
                log.warning("camera %s: cannot write face crops (%s); recognition goes on", camera, exc)
            state.crop_failed = True
        else:
            state.crop_failed = False

    def gallery_changed(self) -> None:
        """New photos or negatives: re-decide every track; drop recent crops of people no longer known."""
        people = set(self.known.people)
        for camera, state in self.cameras.items():
            for track in state.tracker.tracks:
                track.redecide(people)
            if state.recent is not None:
                self._guard_crops(camera, state, state.recent.keep_people, people)

    def gallery_hinted(self) -> bool:
        """A user changed the unknowns' groups (worker/groups.py outside_change): a group named with "This is …"
        has its photos in the gallery already, so look now rather than at the next GALLERY_POLL_SECONDS."""
        if self.groups is None or not self.groups.outside_change.is_set():
            return False
        self.groups.outside_change.clear()
        return True

    def follow_ignored(self) -> None:
        """A group was ignored (or no longer is): Unknown and ignored tracks are encoded again at once and judged
        against the new list."""
        if self.groups is None or self.groups.generation == self.ignored_seen:
            return
        self.ignored_seen = self.groups.generation
        for state in self.cameras.values():
            for track in state.tracker.tracks:
                if track.label == UNKNOWN or track.ignored:
                    track.ignored = False
                    track.redecide()

    @staticmethod
    def regions(state: ChildCamera, shape: tuple[int, ...], now: float, *, whole: bool = False,
                hint: Box | None = None) -> list[Box]:
        """Where to look: around the tracked faces once each was looked at, the whole frame now and then; with
        nobody tracked and a frame sent because the picture changed, around that change."""
        if hint is not None and not whole and not state.tracker.tracks:
            return [focus_region(hint, HINT_MARGIN, HINT_MIN_SHARE, shape)]
        recent = state.last_full_scan is not None and now - state.last_full_scan < FULL_SCAN_SECONDS
        if recent and not whole and all_tracks_looked_at(state.tracker.tracks, ENCODE_MIN_PX):
            return search_regions([t.box for t in state.tracker.tracks], REGION_MARGIN, shape)
        state.last_full_scan = now
        return [(0, shape[1], shape[0], 0)]

    def recognise(self, request: Request) -> RecognitionResult:
        started = time.perf_counter()
        rec = self.settings.recognition
        frame = self.frame(request)
        state = self.camera(request)
        tracker = state.tracker
        now = time.monotonic()
        tracker.expire(now)
        regions = self.regions(state, frame.shape, now, hint=request.hint)
        # The tracked faces spare tiles: a region around them needs no small-face grid, and a whole-frame tile
        # whose only change is around them keeps its answers (see BlazeFace.scan).
        tracked = [t.box for t in tracker.tracks]
        found = engine.detect_faces(frame, regions, rec.scale, rec.model, rec.upsample, state.tiles, tracked)
        if len(found) < len(tracker.tracks) and state.last_full_scan != now:
            # A face left its region (a jump, a cut) or the detector missed it: look everywhere, every tile.
            regions = self.regions(state, frame.shape, now, whole=True)
            found = engine.detect_faces(frame, regions, rec.scale, rec.model, rec.upsample, state.tiles)
        tracks = tracker.update([f.box for f in found], now)
        rgb = engine.to_rgb(frame) if rec.model != engine.BLAZEFACE else None  # dlib's landmarks want RGB
        looks = self.measure(request.camera, frame, rgb, tracks, found)
        due = self.due(state, tracks, looks, now)
        if due:
            rgb = engine.to_rgb(frame) if rgb is None else rgb
            encodings = engine.encode(rgb, [t.box for t in due])
            matches = match_many(self.known, encodings, rec.tolerance)
            matches = apply_negatives(self.known, self.negatives, np.asarray(encodings), matches, rec.tolerance)
            for track, m, encoding in zip(due, matches, encodings, strict=True):
                self.judge(track, looks[track.id], m, encoding, now)
                state.encoded[track.id] = EncodedLook.of(looks[track.id])
                if offer_shot(track, shot_of(frame, track.box, looks[track.id], encoding, request.frame_time)):
                    track.last_shot = now
        self.keep_crops(request.camera, state, tracks, frame, request.frame_time, now)
        if state.shots is not None:
            self.thumbs += state.shots.take(tracks, {t.id for t in tracker.tracks}, now)
        shown = tracks + tracker.coasting(tracks, now, self.settings.coast_seconds)
        faces = tuple(FaceResult(t.label, t.evidence.confidence, t.evidence.distance, t.box, t.id, why_not(t))
                      for t in shown)
        elapsed = time.perf_counter() - started
        return RecognitionResult(request.camera, request.frame_time, faces, elapsed, len(due))

    def due(self, state: ChildCamera, tracks: list[Track], looks: dict[int, LiveQuality], now: float) -> list[Track]:
        """The tracks this look encodes (tracker.wants_encoding on schedule.encode_due: a look that may name
        someone, due or clearly better); forgets the encoded looks of tracks that ended, and of tracks missed on
        this look: a face lost for a moment may be someone else's found in its place, so it is no longer the
        unchanged face the longer recheck is for."""
        rec = self.settings.recognition
        seen = {t.id for t in tracks}
        for gone in [key for key in state.encoded if key not in seen]:
            del state.encoded[gone]
        return [t for t in tracks if t.id in looks and wants_encoding(
            t, looks[t.id], shot_score(looks[t.id]), now, rec.recheck_seconds, rec.recheck_max_seconds,
            due=encode_due(t, looks[t.id], state.encoded.get(t.id), now, rec.recheck_seconds,
                           rec.recheck_max_seconds))]

    @staticmethod
    def measure(camera: str, frame: np.ndarray, rgb: np.ndarray | None, tracks: list[Track],
                found: list[engine.Found]) -> dict[int, LiveQuality]:
        """Each detection's quality (faces of at least ENCODE_MIN_PX), kept on its track too. The pose comes from
        BlazeFace's key points, or, with `rgb` (hog and cnn), dlib's five landmarks (~1 ms a face)."""
        measured = [(t, f) for t, f in zip(tracks, found, strict=True) if height(t.box) >= ENCODE_MIN_PX]
        if rgb is None:
            poses = [pose_from_keypoints(f.keypoints) if f.keypoints else None for _, f in measured]
        else:
            poses = [pose_from_landmarks5(points) for points in engine.landmarks5(rgb, [t.box for t, _ in measured])]
        looks = {}
        for (track, f), pose in zip(measured, poses, strict=True):
            look = live_quality(frame[:, :, ::-1], track.box, pose, f.score)  # a view: only the crop is copied
            if track.quality is None and not judgeable(look, match=True):
                log.debug("camera %s: face %d cannot be judged yet: %s", camera, track.id,
                          not_judgeable(look, match=True))
            track.quality = looks[track.id] = look
        return looks

    def judge(self, track: Track, look: LiveQuality, m: Match, encoding: np.ndarray, now: float) -> None:
        """One encoded look's vote, if it can be judged (tracker.ballot). A stranger of an ignored group reads
        "face" (gallery/groups.py)."""
        if m.name == UNKNOWN and self.groups is not None and (track.ignored or self.groups.ignores(encoding)):
            track.ignore(now)
            return
        second = None  # the nearest other person, if near enough to matter (tracker.decisive)
        if is_person(m.name) and m.distance is not None:
            second = runner_up(self.known, encoding, m.name, m.distance + RUNNER_UP_REACH)
        vote = ballot(look, m.name, m.distance, m.confidence, second, self.settings.recognition.tolerance,
                      track.label)
        if vote is None:
            if track.label == FACE and not judgeable(look, match=True):
                # A turned look named nobody: the next judgeable look is still encoded at once (wants_encoding).
                track.turned_tried = now
            else:
                track.last_encoded = now  # no vote (the label shown stays); look again at the next recheck
            return
        track.vote(vote.name, vote.distance, vote.confidence, now, vote.decisive)

    def close(self) -> None:
        for camera, state in self.cameras.items():
            self._close_crops(camera, state)
        if self.groups is not None:
            self.groups.stop()  # after the crops' last writes, which it groups
        for block in self.blocks.values():
            # BufferError: a view is still alive; the OS unmaps at exit anyway.
            with contextlib.suppress(BufferError):
                block.close()
        self.blocks.clear()


def height(box: Box) -> int:
    return box[2] - box[0]


def why_not(track: Track) -> str | None:
    """Why the track's newest look could not be judged (for the faces API), by the rule its label would need."""
    if track.quality is None:
        return None
    return not_judgeable(track.quality, match=is_person(track.label))


def child_main(settings: ChildSettings, requests: Any, results: Any, log_queue: Any) -> None:
    """Entry point of the spawned process."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log_to_parent(log_queue)
    engine.one_cv_thread()
    child = RecognitionChild(settings)
    identify = None
    try:
        seen = _snapshot(settings)
        child.known, child.negatives, summary = _load(settings)
        if settings.unknowns_dir is not None:
            child.groups = GroupKeeper(settings.unknowns_dir)
            child.groups.start()
        identify = identify_server.serve_child(settings.runtime_dir, child.identify)
        results.put(("ready", summary))
        _serve(child, requests, results, seen)
    finally:
        if identify is not None:
            identify.stop()
        child.close()


def _log_to_parent(log_queue: Any) -> None:
    # Every record goes to the parent, which filters by its own (live-reloadable) log_level: a SIGHUP to debug
    # then reaches this process too. The child logs little, and nothing per frame at debug.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.setLevel(logging.DEBUG)


def _load(settings: ChildSettings, max_encode: int | None = None) -> tuple[KnownFaces, Negatives, dict]:
    engine.load_models(settings.recognition.model)  # before we report ready
    engine.warm_up(settings.recognition.model)
    try:
        known, negatives, summary = load_gallery_with_negatives(settings.gallery, max_encode=max_encode)
    except GalleryError as exc:
        log.error("recognition: %s; every face will be Unknown", exc)
        return KnownFaces(), Negatives(), {"people": [], "images": 0, "skipped": [], "encoded": 0, "cached": 0,
                                           "pending": 0, "negatives": 0}
    return known, negatives, {
        "people": list(summary.people),
        "images": summary.images,
        "skipped": [(str(path), reason) for path, reason in summary.skipped],
        "encoded": summary.encoded,
        "cached": summary.cached,
        "pending": summary.pending,
        "negatives": summary.negatives,
    }


def _snapshot(settings: ChildSettings) -> dict:
    return snapshot(settings.faces_dir, settings.cache_dir)


def _serve(child: RecognitionChild, requests: Any, results: Any, seen: dict | None) -> None:
    parent = multiprocessing.parent_process()
    next_poll = time.monotonic() + GALLERY_POLL_SECONDS
    while True:
        if time.monotonic() >= next_poll or child.gallery_hinted():
            with child.busy:
                seen = _reload_if_changed(child, results, seen)
            child.follow_ignored()
            next_poll = time.monotonic() + GALLERY_POLL_SECONDS
        try:
            request = requests.get(timeout=min(POLL_SECONDS, max(0.05, next_poll - time.monotonic())))
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                log.warning("recognition: parent process is gone; exiting")
                return
            continue
        if request is None:
            return
        try:
            with child.busy:
                result = child.recognise(request)
            results.put(("result", result))
            while child.thumbs:
                results.put(("shot", child.thumbs.pop(0)))
        except Exception as exc:  # one bad frame must not take the worker down
            log.exception("camera %s: recognition failed", request.camera)
            results.put(("error", request.camera, f"{type(exc).__name__}: {exc}"))


def _reload_if_changed(child: RecognitionChild, results: Any, seen: dict | None) -> dict | None:
    """Reload the gallery when a photo was added, removed or replaced (by any tool); the cache makes it cheap.

    Returns the snapshot the gallery now reflects, or None while photos are still waiting to be encoded.
    """

    now = _snapshot(child.settings)
    if now == seen:
        return seen
    if seen is None:
        log.info("recognition: encoding the next photos that were added")
    else:
        log.info("recognition: faces changed (%s); reloading the gallery", describe_changes(seen, now))
    try:
        child.known, child.negatives, summary = _load(child.settings, RELOAD_MAX_ENCODE)
    except Exception:  # a bad reload keeps the old gallery; the next change tries again
        log.exception("recognition: gallery reload failed; keeping the previous gallery")
        return now
    child.gallery_changed()
    results.put(("ready", summary))
    return None if summary["pending"] else now
