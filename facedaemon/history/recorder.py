"""The daemon's side of the history: results and best-shot thumbnails in, visit rows out to the writer thread.

The daemon calls on_result (the worker's reader thread), on_shot (the same thread), tick (its main loop: ends the
visits of silent cameras, restarts a dead writer through the one restart policy, prunes hourly), set_people (the
gallery the worker loaded: people who left it are forgotten here too) and stop (within a deadline).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from facedaemon.children.restarter import Restarter
from facedaemon.config.models import Config
from facedaemon.faces.types import RecognitionResult
from facedaemon.history import paths, store
from facedaemon.history.visits import Seen, Thumb, VisitTracker
from facedaemon.history.writer import Counters, HistoryWriter, WriterSettings

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # seconds of the monotonic clock between retention sweeps (the first runs at start)
DROP_REASONS = ("queue_full", "disk_full", "corrupt")


def settings(config: Config) -> WriterSettings:
    return WriterSettings(keep_stranger_thumbs=config.unknowns.save, retention=config.history.retention,
                          stranger_retention=config.unknowns.retention,
                          max_bytes=config.history.max_mb * 1024 * 1024)


_COUNTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # registry -> its one counter (reloads reuse it)


def drop_counter(metrics: DaemonMetrics | None):
    """facedaemon_history_dropped_total{reason}, at zero for every reason; None without a registry."""
    if metrics is None:
        return None
    counter = _COUNTERS.get(metrics.registry)
    if counter is None:
        from prometheus_client import Counter

        counter = Counter("facedaemon_history_dropped", "Visit updates the history could not write, by reason "
                          "(queue_full, disk_full, corrupt).", ["reason"], registry=metrics.registry)
        for reason in DROP_REASONS:
            counter.labels(reason)
        _COUNTERS[metrics.registry] = counter
    return lambda reason: counter.labels(reason).inc()


class HistoryRecorder:
    def __init__(self, config: Config, metrics: DaemonMetrics | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.path = paths.database(config, environ)
        self.tracker = VisitTracker(config.device, config.history.grace, run=secrets.token_hex(4))
        self.writer = HistoryWriter(self.path, settings(config), Counters(drop_counter(metrics)))
        self.restarter = Restarter("history", on_restart=metrics.count_restart if metrics else None)
        self._lock = threading.Lock()  # results arrive on the worker's reader thread, ticks on the main loop
        self._next_prune = 0.0
        self._people: frozenset[str] | None = None
        self._stopped = False

    @classmethod
    def from_config(cls, config: Config, metrics: DaemonMetrics | None = None,
                    environ: Mapping[str, str] | None = None) -> HistoryRecorder | None:
        """None when history.enabled is off or the state folder is unusable (said once in the log)."""
        if not config.history.enabled:
            log.info("history: off (history.enabled: false)")
            return None
        folder = paths.state_dir(config, environ)
        if paths.inside_faces(config, folder):
            log.error("history: off: the state folder %s is inside faces_dir %s (a fleet syncs faces_dir); set "
                      "state_dir", folder, config.faces_dir)
            return None
        return cls(config, metrics, environ)

    def start(self) -> None:
        log.info("history: recording visits in %s (kept %s days, at most %d MB)", self.path,
                 f"{self.config.history.retention / 86400:g}", self.config.history.max_mb)
        self.writer.start()
        self.restarter.started()

    def on_result(self, result: RecognitionResult) -> None:
        faces = [Seen(f.name, f.track, f.confidence) for f in result.faces]
        with self._lock:
            if self._stopped:
                return
            ops = self.tracker.see(result.camera, faces, result.frame_time, time.monotonic())
        self.writer.put(ops)

    def on_shot(self, thumb: Thumb) -> None:
        with self._lock:
            self.tracker.shot(thumb)

    def tick(self, now: float) -> None:
        with self._lock:
            ops = self.tracker.expire(now)
        self.writer.put(ops)
        self._keep_writing(now)
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY
            self.prune()

    def prune(self) -> None:
        s = self.writer.settings
        self.writer.call(lambda conn: _prune(conn, s))

    def set_people(self, people: Iterable[str]) -> None:
        """The gallery: visits of people no longer in it are deleted (forget), also of those forgotten while the
        daemon was down."""
        known = frozenset(people)
        if known == self._people:
            return
        self._people = known
        with self._lock:
            self.tracker.forget(self.tracker.people() - known)
        self.writer.call(lambda conn: _forget(conn, known))

    def relabel_group(self, group_id: str, person: str) -> None:
        self.writer.call(lambda conn: store.relabel_group(conn, group_id, person))

    def stop(self, timeout: float) -> None:
        with self._lock:
            self._stopped = True
            ops = self.tracker.close_all()
        self.writer.put(ops)
        self.writer.stop(timeout)

    def _keep_writing(self, now: float) -> None:
        """The writer thread died: restart it through the one policy (backoff, counted restarts)."""
        if self._stopped or self.writer.alive() or self.writer.fatal:
            return
        if self.restarter.retry_at is None:
            delay = self.restarter.failed(self.writer.last_error or "the writer thread ended", now)
            log.warning("history: the writer stopped (%s); restarting in %.1f s", self.restarter.last_error, delay)
            return
        if self.restarter.due(now):
            self.writer.start()
            self.restarter.started()


def _prune(conn, s: WriterSettings) -> None:
    visits, thumbs = store.prune(conn, now=time.time(), retention=s.retention,
                                 stranger_retention=s.stranger_retention, max_bytes=s.max_bytes)
    if visits or thumbs:
        log.info("history: deleted %d old visit(s) and %d stranger thumbnail(s)", visits, thumbs)


def _forget(conn, known: frozenset[str]) -> None:
    removed = store.forget_all_but(conn, known)
    if removed:
        log.info("history: forgot %d visit(s) of people no longer in the gallery", removed)
