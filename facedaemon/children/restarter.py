"""One restart policy for every part the daemon owns: the encoders' ffmpeg, the web server, the RTSP sidecar, the
recognition worker and each camera's capture loop.

A part reports each start and each failure; the Restarter says when the next try is due (capped exponential
backoff that resets after a healthy run), counts the restarts (every start after the first) and keeps the last
error for status pages. Restarts reach metrics through one callback, `on_restart(part)`, which the daemon points at
facedaemon_restarts_total{part, camera}. Pure apart from the clock; not thread-safe (each owner calls it under its
own lock or from one thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from facedaemon.children.backoff import Backoff


class Restarter:
    def __init__(self, part: str, *, backoff: Backoff | None = None,
                 on_restart: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.part = part
        self.backoff = backoff or Backoff()
        self.on_restart = on_restart
        self.restarts = 0
        self.last_error: str | None = None
        self.retry_at: float | None = None  # monotonic; None: no restart planned
        self._clock = clock
        self._started_once = False

    def started(self) -> None:
        """The part is running (again): a start after the first one is a restart."""
        self.backoff.started()
        self.retry_at = None
        if self._started_once:
            self.restarts += 1
            if self.on_restart is not None:
                self.on_restart(self.part)
        self._started_once = True

    def failed(self, why: str | None = None, now: float | None = None) -> float:
        """The part died or could not start: plan the next try; returns the delay."""
        delay = self.backoff.failed()
        self.retry_at = (self._clock() if now is None else now) + delay
        if why is not None:
            self.last_error = why
        return delay

    def due(self, now: float | None = None) -> bool:
        """A planned restart may happen now."""
        return self.retry_at is not None and (self._clock() if now is None else now) >= self.retry_at

    def waiting(self, now: float | None = None) -> bool:
        """Backing off after a failure: do not start yet."""
        return self.retry_at is not None and not self.due(now)

    def retry_now(self) -> None:
        """Start again at once: the stop was not a failure (a new frame size)."""
        self.retry_at = None
