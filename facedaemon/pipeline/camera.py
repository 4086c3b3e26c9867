"""One camera's stages: a capture thread and an output thread, joined by a newest-wins slot.

capture:  source.read() → LatestSlot            (never waits for anyone; a frame not yet taken is replaced)
output:   slot → recognition.submit (non-blocking, paced) → draw latest faces → encoder.write → HLS

Frames are I420 from source to encoder (yuv.py): no full-frame colour conversion on this path.

Recognition is paced per camera: while looking for faces, a few frames a second plus one as soon as the picture
changes (someone walking in is named without waiting for the next paced frame); slower while every face on screen
is tracked and named (CPU); between results the drawn boxes follow each face's velocity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from facedaemon import yuv
from facedaemon.annotate.blur import blur_faces
from facedaemon.annotate.draw import draw_faces_i420
from facedaemon.annotate.scale import scale_faces
from facedaemon.children.backoff import Backoff
from facedaemon.children.restarter import Restarter
from facedaemon.config.models import CameraConfig
from facedaemon.faces.types import FACE, Box, RecognitionResult, is_person
from facedaemon.pipeline.handoff import LatestSlot
from facedaemon.pipeline.motion import Motion, follow, moved
from facedaemon.pipeline.pacing import SubmitPacer
from facedaemon.pipeline.rate import RateMeter
from facedaemon.redact import mask_credentials
from facedaemon.runtime.status import CameraStatus, FaceStatus
from facedaemon.sources.base import Frame, FrameSource, SourceEnded, SourceError, SourceRefused, SourceResized

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)

RESULT_MAX_AGE = 2.0  # seconds: older recognition results are not drawn (worker down or far behind)
# While the worker is working on a newer frame of this camera, its last answer still stands a while longer: on a
# starved machine results arrive 2-3 s late, and dropping them blanked names (and blur) for seconds at a time.
BUSY_RESULT_MAX_AGE = 6.0
STALL_SECONDS = 15.0  # no frame for this long while "streaming" → reported as stalled
# A camera refusing our credentials is retried slowly: they will not fix themselves in a second, and many cameras
# lock the account after a few wrong logins. The error is logged once, and again every REFUSED_REMIND s.
REFUSED_FIRST, REFUSED_CAP, REFUSED_REMIND = 5.0, 60.0, 600.0
DAMAGE_EVERY = 60.0  # s: a damaged stream is reported at most this often
FPS_IN_WINDOW = 10.0  # s over which fps_in is averaged


@dataclass(frozen=True)
class Refusal:
    reason: str
    said: float  # monotonic time the reason was last logged
    quiet: bool  # this failure was not logged (a repeat)


class Recognizer(Protocol):
    def submit(self, camera: str, frame: np.ndarray, frame_time: float, hint: Box | None = None) -> bool: ...

    def latest(self, camera: str) -> RecognitionResult | None: ...

    def in_flight(self, camera: str) -> bool: ...


class FrameSink(Protocol):
    def write(self, frame: np.ndarray) -> bool: ...

    def stop(self, timeout: float = 3.0) -> None: ...


@dataclass
class PipelineStatus:
    state: str = "starting"
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    last_capture_mono: float | None = None
    last_output: float | None = None  # wall time, for status readers in other processes
    last_output_mono: float | None = None
    changed_mono: float = 0.0  # when state last changed
    # The camera's average rate: cameras vary theirs (a dark scene, VFR), and a 2 s window showed the moment.
    fps_in: RateMeter = field(default_factory=lambda: RateMeter(window=FPS_IN_WINDOW))
    fps_out: RateMeter = field(default_factory=RateMeter)


class CameraPipeline:
    blur_unknown = False  # privacy.blur_unknown; the daemon sets it, also live on reload

    def __init__(self, camera: CameraConfig, *, source_factory: Callable[[CameraConfig], FrameSource],
                 sink: FrameSink, metrics: DaemonMetrics, recognizer: Recognizer | None = None) -> None:
        self.camera = camera
        self.name = camera.name
        self._source_factory = source_factory
        self._sink = sink
        self._metrics = metrics
        self._recognizer = recognizer if camera.recognize else None
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._named_tracks: dict[int, str] = {}
        self._motions: dict[int, Motion] = {}  # replaced whole by the result thread, read by the output thread
        self._pacer = SubmitPacer()
        self._gallery: object = None  # the recognizer's gallery when a frame last went to it (output thread)
        self._refused: Refusal | None = None  # the camera refuses our credentials (capture thread only)
        self._resized_at = 0.0  # wall time the camera's picture last changed size
        self._resumed: FrameSource | None = None  # a file whose picture changed size: opened again, plays on
        self._frame_wanted: list[Callable[[np.ndarray], None]] = []  # snapshots: the next annotated frame
        self._wanted_lock = threading.Lock()
        self.status = PipelineStatus()
        metrics.add_camera(self.name)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        for target, role in ((self._capture_loop, "capture"), (self._output_loop, "output")):
            thread = threading.Thread(target=target, name=f"{self.name}-{role}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 3.0) -> None:
        """Ask both threads to stop and stop the encoder; threads blocked in a camera read are left (daemonic)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._sink.stop(max(0.5, deadline - time.monotonic()))
        self._set_state("stopped", None)

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    # -- capture -----------------------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        # Capped low: a reconnect never waits long.
        restarter = Restarter("capture", backoff=Backoff(first=0.5, cap=5.0, healthy_after=30.0),
                              on_restart=lambda part: self._metrics.count_restart(part, self.name))
        refusals = Backoff(first=REFUSED_FIRST, cap=REFUSED_CAP, healthy_after=0.0)
        while not self._stop.is_set():
            ended = self._run_source(restarter)
            if ended is None:
                continue  # the picture changed size: reopened at once, not a failure
            if ended or self._stop.is_set():
                return
            delay = restarter.failed(self.status.reason)
            if self._refused is not None:
                delay = refusals.failed()  # its own, slower backoff (from the normal cap up)
            else:
                refusals.failures = 0
            level = logging.DEBUG if self._refused is not None and self._refused.quiet else logging.INFO
            log.log(level, "camera %s: reconnecting in %.1f s", self.name, delay)
            self._stop.wait(delay)

    def _run_source(self, restarter: Restarter) -> bool | None:
        """Open the source and read until it fails; True when it ended for good (a file without loop), None when
        it changed size (to be reopened now)."""
        source, self._resumed = self._resumed or self._source_factory(self.camera), None
        try:
            began = time.monotonic()
            source.open()
            self.status.fps_in.restart(began)  # the rate counts from the connection, not from its buffered burst
            restarter.started()
            self._refused = None
            details = getattr(source, "details", None)  # what a decoded stream turned out to be
            log.info("camera %s: opened %s%s", self.name, source.description, f" ({details})" if details else "")
            reported = (0, 0, float("-inf"))
            while not self._stop.is_set():
                self._captured(source.read())
                reported = self._damage(source, reported)
        except SourceEnded as exc:
            self._fail("ended", str(exc))
            return True
        except SourceResized as exc:
            log.info("camera %s: %s; reopening it", self.name, mask_credentials(str(exc)))
            # Boxes found on the old picture are in its pixels: not drawn on the new one, and the new picture is
            # looked at at once.
            self._resized_at = time.time()
            self._motions, self._pacer = {}, SubmitPacer()
            self._resumed = source if exc.resumes else None
            return None
        except SourceRefused as exc:
            self._refusal(mask_credentials(str(exc)))
        except SourceError as exc:
            self._refused = None
            self._fail("error", str(exc))
        except Exception as exc:  # a bug or a library fault must not kill the camera for good
            log.exception("camera %s: unexpected error in capture", self.name)
            self._fail("error", f"{type(exc).__name__}: {exc}")
        finally:
            source.close()
        return False

    def _captured(self, frame: Frame) -> None:
        status = self.status
        status.last_capture_mono = frame.captured_mono
        status.fps_in.tick(frame.captured_mono)
        self._metrics.frames_captured.labels(self.name).inc()
        if self._slot.put(frame):
            self._metrics.frames_dropped.labels(self.name, "capture").inc()

    def _damage(self, source: FrameSource, reported: tuple[int, int, float]) -> tuple[int, int, float]:
        """One line, at most every DAMAGE_EVERY s, when the decoder reported broken frames or timestamp jumps since
        the last line: the frames still come (concealed), so this line is the only sign. (broken, jumped, when)."""
        damage = getattr(source, "damage", None)
        if damage is None or (damage.broken, damage.jumped) == reported[:2]:
            return reported
        now = time.monotonic()
        if now - reported[2] < DAMAGE_EVERY:
            return reported
        log.warning("camera %s: damaged stream: %d reports of broken frames (concealed: packet loss or a faulty "
                    "encoder) and %d timestamp jumps since %s; last: %s", self.name, damage.broken - reported[0],
                    damage.jumped - reported[1], "it opened" if reported[2] == float("-inf") else "the last line",
                    mask_credentials(damage.last))
        return damage.broken, damage.jumped, now

    def _fail(self, state: str, reason: str, *, quiet: bool = False) -> None:
        reason = mask_credentials(reason)
        log.log(logging.DEBUG if quiet else logging.WARNING, "camera %s: %s", self.name, reason)
        self._set_state(state, reason)

    def _refusal(self, reason: str) -> None:
        """Wrong credentials: said once (then every REFUSED_REMIND s while it lasts), retried with a longer backoff."""
        now = time.monotonic()
        last = self._refused
        quiet = last is not None and last.reason == reason and now - last.said < REFUSED_REMIND
        self._refused = Refusal(reason, last.said if quiet and last is not None else now, quiet)
        self._fail("error", reason, quiet=quiet)

    def _set_state(self, state: str, reason: str | None) -> None:
        self.status.state, self.status.reason = state, reason
        self.status.changed_mono = time.monotonic()
        self._metrics.camera_up.labels(self.name).set(1 if state == "streaming" else 0)

    # -- output ------------------------------------------------------------------------------------------------
    def _output_loop(self) -> None:
        while not self._stop.is_set():
            frame = self._slot.take(timeout=0.5)
            if frame is None:
                continue
            try:
                self._emit(frame, draw_faces_i420)
            except Exception:
                log.exception("camera %s: unexpected error in output", self.name)
                self._stop.wait(0.5)

    def _emit(self, frame: Frame, draw: Callable[..., None]) -> None:
        latest = self._recognizer.latest(self.name) if self._recognizer is not None else None  # once a frame
        self._maybe_submit(frame, latest)  # the whole captured picture: small faces stay big enough to name
        faces = self.current_faces(frame.captured, latest)
        seen = latest.faces if latest is not None else ()
        image, faces, seen = self._scaled(frame.image, faces, seen)
        if self.blur_unknown:
            age = frame.captured - latest.frame_time if latest is not None else 0.0
            # Also cover where the worker last saw each face, the more the older that sighting: it may have moved on.
            blur_faces(image, faces, seen=seen, age=age)
        draw(image, faces)
        self._hand_out(image)
        if not self._sink.write(image):
            self._metrics.frames_dropped.labels(self.name, "encoder").inc()
            return
        now = time.monotonic()
        self._metrics.frames_output.labels(self.name).inc()
        self._metrics.frame_latency.labels(self.name).observe(now - frame.captured_mono)
        status = self.status
        status.last_output_mono, status.last_output = now, time.time()
        status.fps_out.tick(now)
        status.width, status.height = yuv.size(image)
        # A frame read before the capture thread reported a failure must not undo that report.
        if status.state != "streaming" and frame.captured_mono > status.changed_mono:
            log.info("camera %s: streaming %dx%d", self.name, status.width, status.height)
            self._set_state("streaming", None)

    def next_frame(self, callback: Callable[[np.ndarray], None]) -> bool:
        """callback(BGR picture of the next output frame: annotated, privacy blur applied) on the output thread; False
        when the camera is not running (then it never comes)."""
        if self._stop.is_set() or not self.alive():
            return False
        with self._wanted_lock:
            self._frame_wanted.append(callback)
        return True

    def _hand_out(self, image: np.ndarray) -> None:
        if not self._frame_wanted:  # the usual case: no lock, no copy
            return
        with self._wanted_lock:
            wanted, self._frame_wanted = self._frame_wanted, []
        picture = yuv.to_bgr(image)  # a new picture: the callbacks keep it past this frame
        for callback in wanted:
            callback(picture)

    def _maybe_submit(self, frame: Frame, latest: RecognitionResult | None) -> None:
        recognizer = self._recognizer
        if recognizer is None:
            return
        # A new gallery (photos added, a name forgotten, "not this person") makes the worker re-decide every track
        # at its next look: that look must not wait for the picture to move.
        gallery = getattr(recognizer, "gallery", None)
        if gallery is not self._gallery:
            self._pacer.force()
        if not self._pacer.wants(frame.captured_mono, latest, frame.image):
            return
        # submit() copies the clean frame before we draw on it; False = still busy with our last one.
        if recognizer.submit(self.name, frame.image, frame.captured, self._pacer.hint):
            self._pacer.sent(frame.captured_mono, latest, frame.image)
            self._gallery = gallery

    def _scaled(self, image: np.ndarray, faces: tuple, seen: tuple) -> tuple[np.ndarray, tuple, tuple]:
        """The output frame (camera.output: scaled down to fit, else the captured frame itself) and the boxes moved
        onto it."""
        limit = self.camera.output
        if limit.width is None and limit.height is None:
            return image, faces, seen
        size = yuv.size(image)
        target = yuv.fit_inside(size, (limit.width, limit.height))
        if target == size:
            return image, faces, seen
        return yuv.resize(image, target), scale_faces(faces, size, target), scale_faces(seen, size, target)

    def current_faces(self, frame_time: float, result: RecognitionResult | None) -> tuple:
        """The faces to draw on a frame captured at frame_time, moved along their tracks' velocities."""
        if result is None or frame_time - result.frame_time > self._result_max_age() \
                or result.frame_time < self._resized_at:
            return ()
        return moved(result.faces, self._motions, frame_time)

    def _result_max_age(self) -> float:
        recognizer = self._recognizer
        busy = recognizer is not None and recognizer.in_flight(self.name)
        return BUSY_RESULT_MAX_AGE if busy else RESULT_MAX_AGE

    # -- results and health ------------------------------------------------------------------------------------
    def on_result(self, result: RecognitionResult) -> None:
        """Called from the recognition worker's reader thread."""
        metrics = self._metrics
        metrics.inference.labels(self.name).observe(result.inference_seconds)
        metrics.faces_detected.labels(self.name).inc(len(result.faces))
        previous = self._motions
        self._motions = {face.track: follow(previous.get(face.track), face.box, result.frame_time)
                         for face in result.faces}
        for face in result.faces:
            # "face" is not a verdict (too small, or not judged yet): counting it as "unknown" would report a
            # stranger at every known person's first sighting; the track is counted once it is named.
            if face.name == FACE:
                continue
            if self._named_tracks.get(face.track) != face.name:
                self._named_tracks[face.track] = face.name
                person = metrics.person_label(face.name, is_person(face.name))
                metrics.faces_recognized.labels(self.name, person).inc()
        if len(self._named_tracks) > 256:  # forget old tracks; ids only grow
            for track in sorted(self._named_tracks)[:128]:
                del self._named_tracks[track]

    def check(self, now: float) -> None:
        """Called by the arbiter: a camera that stopped delivering frames is not 'streaming'."""
        status = self.status
        if status.state == "streaming" and (status.last_output_mono is None
                                            or now - status.last_output_mono > STALL_SECONDS):
            self._fail("error", f"no frames for {STALL_SECONDS:.0f} s (camera hung?)")

    def status_entry(self, now_mono: float) -> CameraStatus:
        """This camera's entry in status.json."""
        status = self.status
        faces_result = self._recognizer.latest(self.name) if self._recognizer is not None else None
        faces = tuple(FaceStatus(name=face.name, confidence=face.confidence, box=face.box, track=face.track,
                                 distance=face.distance, not_judged=face.not_judged)
                      for face in faces_result.faces) if faces_result else ()
        return CameraStatus(
            state=status.state if self.camera.enabled else "disabled",
            reason=status.reason,
            source=mask_credentials(self.camera.source.uri),
            fps_in=round(status.fps_in.rate(now_mono), 2),
            fps_out=round(status.fps_out.rate(now_mono), 2),
            last_frame=status.last_output,
            width=status.width,
            height=status.height,
            faces=faces,
            faces_time=faces_result.frame_time if faces_result else None,
        )
