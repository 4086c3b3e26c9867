"""The history's one writer thread: a bounded queue of visit operations (newest wins: when it is full the oldest
operation is dropped and counted) and jobs (forget, prune, relabel; never dropped), written in batches.

The thread is the daemon's (recorder.py starts it, restarts it through children.restarter's policy, stops it
within a deadline). A full disk drops the batch and counts it; a database found damaged while running is moved
aside and a new one started; anything else ends the thread, and the owner restarts it after a backoff.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facedaemon.children.threads import CondThread
from facedaemon.history import store
from facedaemon.history.visits import Op

log = logging.getLogger(__name__)

QUEUE_SIZE = 4096  # operations; at a few a second per visible face this is minutes of a stalled disk
BATCH = 256

Job = Callable[[sqlite3.Connection], object]


@dataclass(frozen=True)
class WriterSettings:
    keep_stranger_thumbs: bool  # unknowns.save
    retention: float
    stranger_retention: float  # unknowns.retention: strangers' thumbnails
    max_bytes: int


class Counters:
    """Drops by reason and visits written; `on_drop(reason)` reaches the Prometheus counter."""

    def __init__(self, on_drop: Callable[[str], None] | None = None) -> None:
        self.dropped: collections.Counter[str] = collections.Counter()
        self.written = 0
        self._on_drop = on_drop

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] += count
        if self._on_drop is not None:
            for _ in range(count):
                self._on_drop(reason)
        total = sum(self.dropped.values())
        if total == count or total // 100 != (total - count) // 100:  # first, then every hundredth
            log.warning("history: dropped %d visit update(s): %s (%d dropped so far)", count, reason, total)


class HistoryWriter(CondThread):
    thread_name = "history-writer"

    def __init__(self, path: Path, settings: WriterSettings, counters: Counters | None = None,
                 queue_size: int = QUEUE_SIZE) -> None:
        super().__init__()
        self.path = path
        self.settings = settings
        self.counters = counters or Counters()
        self.last_error: str | None = None
        self.fatal = False  # the file cannot be used by this version (a newer schema): no restart helps
        self._ops: collections.deque[Op] = collections.deque()
        self._jobs: collections.deque[Job] = collections.deque()
        self._size = queue_size
        self._busy = False

    # -- the owner's side ------------------------------------------------------------------------------------
    def put(self, ops: list[Op]) -> None:
        if not ops:
            return
        with self._cond:
            self._ops.extend(ops)
            over = len(self._ops) - self._size
            for _ in range(max(0, over)):
                self._ops.popleft()
            self._cond.notify()
        if over > 0:
            self.counters.drop("queue_full", over)

    def call(self, job: Job) -> None:
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not (self._ops or self._jobs or self._busy)

    def stop(self, timeout: float) -> None:
        """Write what is queued, then end; at most `timeout` seconds."""
        super().stop(timeout)
        if self.alive():
            log.warning("history: the writer did not finish within %.1f s; %d update(s) not written", timeout,
                            len(self._ops))

    # -- the thread ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            conn = store.connect_rw(self.path)
        except (store.HistoryError, sqlite3.Error, OSError) as exc:
            self.fatal = isinstance(exc, store.HistoryError)
            self.last_error = f"cannot open {self.path}: {exc}"
            log.error("history: %s; visits are not recorded until it can", self.last_error)
            return
        try:
            while (work := self._take()) is not None:
                conn = self._write(conn, *work)
        except (sqlite3.Error, OSError) as exc:  # the owner restarts the thread (recorder.py)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("history: the writer failed: %s", self.last_error)
        finally:
            conn.close()

    def _take(self) -> tuple[list[Op], list[Job]] | None:
        with self._cond:
            while not (self._ops or self._jobs or self._stopping):
                self._cond.wait()
            if not (self._ops or self._jobs):
                return None
            ops = [self._ops.popleft() for _ in range(min(BATCH, len(self._ops)))]
            jobs: list[Job] = []
            if not self._ops:  # a job (a forget) runs after every operation queued before it
                jobs = list(self._jobs)
                self._jobs.clear()
            self._busy = True
            return ops, jobs

    def _write(self, conn: sqlite3.Connection, ops: list[Op], jobs: list[Job]) -> sqlite3.Connection:
        try:
            if ops:
                store.apply(conn, ops, keep_stranger_thumbs=self.settings.keep_stranger_thumbs, now=time.time())
                self.counters.written += len(ops)
            for job in jobs:
                job(conn)
        except (sqlite3.Error, OSError) as exc:
            if store.disk_full(exc):
                self.counters.drop("disk_full", len(ops))
            elif isinstance(exc, sqlite3.DatabaseError) and store.damaged(str(exc)):
                conn.close()
                aside = store.move_aside(self.path)
                log.error("history: %s is damaged (%s); moved it to %s and started a new history", self.path, exc,
                          aside.name)
                conn = store.connect_rw(self.path)
                self.counters.drop("corrupt", len(ops))
            else:
                raise
        finally:
            with self._cond:
                self._busy = False
        return conn
